use sea_orm::entity::prelude::*;

/// A cooperation demand or a talent entry. Holds only what its author submitted (COL-3), plus
/// the organisation's kind (for the filter) and the segmented words search reads.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "cooperation_posts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The posting organisation; `None` for a person's own talent profile.
    pub organization_id: Option<Uuid>,
    pub organization_kind: Option<xqt_accounts::entity::organization::OrganizationKind>,
    pub author_id: Uuid,
    pub kind: PostKind,
    pub state: PostState,
    pub visibility: Visibility,
    pub title: String,
    pub body: String,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    /// WGS-84.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub headcount: Option<i32>,
    pub starts_on: Option<Date>,
    pub ends_on: Option<Date>,
    /// JSON array of tags.
    pub tags: String,
    /// JSON of the talent fields (major, graduation year, skills, …), for talent entries.
    pub talent: Option<String>,
    #[serde(skip)]
    pub search_text: String,
    /// `<organisation>:<the school's own id>` for entries a school's system synced.
    pub external_key: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    /// What a post offers or seeks.
    #[graphql(name = "PostKind")]
    pub enum PostKind {
        /// 实习
        Internship = "internship",
        /// 订单班
        OrderClass = "order_class",
        /// 现代学徒制
        Apprenticeship = "apprenticeship",
        /// 共建实验室 / 实训基地
        JointLab = "joint_lab",
        /// 产业学院
        IndustryCollege = "industry_college",
        /// 横向课题
        ResearchProject = "research_project",
        /// 课程共建
        CourseDevelopment = "course_development",
        /// 招聘
        Recruitment = "recruitment",
        /// 成果转化
        ResultsTransfer = "results_transfer",
        /// A talent entry: a student's profile or a school's talent pool.
        Talent = "talent",
    }
}

xqt_kernel::closed_set! {
    /// draft → published → closed | withdrawn.
    #[graphql(name = "PostState")]
    pub enum PostState {
        Draft = "draft",
        Published = "published",
        /// Filled or finished: still shown on its organisation's page, no longer open to applications.
        Closed = "closed",
        /// Taken back by its author: shown to nobody but the organisation.
        Withdrawn = "withdrawn",
    }
}

xqt_kernel::closed_set! {
    /// Who may see a published post.
    #[graphql(name = "PostVisibility")]
    pub enum Visibility {
        Public = "public",
        /// Members of approved organisations only.
        Verified = "verified",
        /// The posting organisation (or, for a talent profile, its person) only.
        Private = "private",
    }
}
