use sea_orm::entity::prelude::*;

/// Where a group checks in: a point (WGS-84) with a radius, and Wi-Fi access points that count
/// as being there.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "attendance_sites")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub group_id: Uuid,
    pub name: String,
    pub address: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    pub radius_m: i32,
    /// Lower-case BSSIDs, comma-separated; empty for none.
    pub bssids: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    pub fn bssid_list(&self) -> Vec<&str> {
        self.bssids.split(',').filter(|b| !b.is_empty()).collect()
    }
}
