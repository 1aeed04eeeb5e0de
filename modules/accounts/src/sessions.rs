//! Signing in and staying signed in: sessions, rotating refresh tokens, the security log.

use crate::entity::security_event::SecurityEventKind;
use std::time::Duration as StdDuration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use sea_orm::Condition;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use uuid::Uuid;
use xqt_kernel::auth::{RequestMeta, Role, SESSIONS_ENDED_TOPIC};
use xqt_kernel::crypto::token_hash;
use xqt_kernel::pagination::{ListOrder, PageRequest};
use xqt_kernel::rate::{self, Window::Minute};
use xqt_kernel::{AppContext, AppResult, ids};
use xqt_notifications::inbox::{NewNotification, notify};

use crate::entity::{refresh_token, security_event, session, user};
use crate::error::AccountsError;
use crate::password;
use crate::phone::Phone;
use crate::users::{create_user, find, find_by_phone};

pub const REFRESH_PREFIX: &str = "xqt_rt_";
/// Sign-in attempts per phone or username, per minute (per address: configured).
const SIGN_INS_PER_MINUTE_PER_LOGIN: i64 = 10;
/// How long a session's live/ended state is cached between database checks.
const SESSION_STATE_TTL: StdDuration = StdDuration::from_secs(60);

/// What the client says about the device it signs in from (plus the address we see).
#[derive(Debug, Clone, Default)]
pub struct DeviceInfo {
    /// The app installation's own id; the best way to recognise a device again.
    pub device_id: Option<String>,
    pub model: Option<String>,
    pub os: Option<String>,
    pub app_version: Option<String>,
    /// `wifi`, `4g`, `5g`, …
    pub network: Option<String>,
}

impl DeviceInfo {
    fn validate(&self) -> Result<(), AccountsError> {
        let limits: [(&'static str, &Option<String>, usize); 5] = [
            ("device.deviceId", &self.device_id, 128),
            ("device.model", &self.model, 64),
            ("device.os", &self.os, 64),
            ("device.appVersion", &self.app_version, 32),
            ("device.network", &self.network, 16),
        ];
        for (field, value, max) in limits {
            xqt_kernel::text::Text::line(0, max)
                .check_optional(value.as_deref())
                .map_err(|message| AccountsError::Invalid { field, message })?;
        }
        Ok(())
    }
}

/// A successful sign-in or refresh: the tokens to hand the client.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: user::Model,
    pub session_id: Uuid,
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    /// This sign-in came from a device the account had not used before.
    pub new_device: bool,
}

fn role_of(user: &user::Model) -> Role {
    user.role
}

fn ip_of(meta: &RequestMeta) -> Option<String> {
    meta.ip.map(|ip| ip.to_string())
}

/// Refuses a client (by address) or a login (phone or username) that tries too often.
async fn throttle_sign_in(ctx: &AppContext, meta: &RequestMeta, login_hash: &[u8]) -> AppResult<()> {
    let by_login = rate::Limit {
        name: "accounts.sign-in-login",
        max: SIGN_INS_PER_MINUTE_PER_LOGIN,
        window: Minute,
        uncounted: rate::Uncounted::Refuse,
    };
    let mut checks = vec![(by_login, URL_SAFE_NO_PAD.encode(login_hash))];
    if let Some(ip) = meta.ip {
        let max = ctx.config.section::<crate::config::AccountsConfig>().sign_ins_per_minute_per_ip;
        checks.push((
            rate::Limit { name: "accounts.sign-in-ip", max, window: Minute, uncounted: rate::Uncounted::Refuse },
            ip.to_string(),
        ));
    }
    for (limit, subject) in checks {
        if let Err(e) = rate::hit(ctx, limit, &subject).await? {
            return Err(AccountsError::SignInRateLimited { retry_after_secs: e.retry_after_secs }.into());
        }
    }
    Ok(())
}

/// Sends a sign-in code; the phone need not have an account yet (signing in creates it).
pub async fn request_sign_in_code(ctx: &AppContext, meta: &RequestMeta, phone: &str) -> AppResult<()> {
    let phone = Phone::parse(phone)?;
    crate::codes::request(ctx, &phone, crate::codes::Asker::Address(meta.ip)).await
}

/// Signs in with an SMS code, creating the account on first use: a phone and its code are all
/// sign-up takes (COL-1).
pub async fn sign_in_with_code(
    ctx: &AppContext,
    meta: &RequestMeta,
    phone: &str,
    code: &str,
    device: DeviceInfo,
) -> AppResult<SignedIn> {
    let phone = Phone::parse(phone)?;
    device.validate()?;
    throttle_sign_in(ctx, meta, &phone.lookup_hash(ctx)).await?;
    crate::codes::verify(ctx, &phone, code).await?;
    let user = match find_by_phone(ctx, &phone).await? {
        Some(u) => u,
        None => {
            let created = create_user(ctx, &phone).await?;
            // Signing up accepts the policies in force: recorded before the first session opens.
            let label =
                [device.model.as_deref(), device.os.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" / ");
            ctx.modules.signed_up(ctx, created.id, meta, Some(label).filter(|l| !l.is_empty())).await?;
            created
        }
    };
    open_session(ctx, &user, meta, &device).await
}

/// Signs in with phone or username and password; repeated failures lock the account for a while.
pub async fn sign_in_with_password(
    ctx: &AppContext,
    meta: &RequestMeta,
    login: &str,
    password_input: &str,
    device: DeviceInfo,
) -> AppResult<SignedIn> {
    device.validate()?;
    let login = login.trim();
    let (login_hash, found) = match Phone::parse(login) {
        Ok(phone) => (phone.lookup_hash(ctx), find_by_phone(ctx, &phone).await?),
        Err(_) => {
            let name = login.to_lowercase();
            let found = user::Entity::find().filter(user::Column::Username.eq(name.clone())).one(&ctx.db).await?;
            (ctx.keys.lookup_hash("username", &name), found)
        }
    };
    throttle_sign_in(ctx, meta, &login_hash).await?;
    let now = ctx.clock.now();
    if let Some(until) = found.as_ref().and_then(|u| u.locked_until).filter(|until| *until > now) {
        return Err(AccountsError::Locked { retry_after_secs: (until - now).num_seconds().max(1) }.into());
    }
    let stored = found.as_ref().and_then(|u| u.password_hash.clone());
    let ok = password::verify(password_input.to_owned(), stored).await?;
    let Some(user) = found else { return Err(AccountsError::BadCredentials.into()) };
    if !ok {
        record_failure(ctx, &user, meta, &device).await?;
        return Err(AccountsError::BadCredentials.into());
    }
    if user.failed_sign_ins > 0 || user.locked_until.is_some() {
        user::Entity::update_many()
            .col_expr(user::Column::FailedSignIns, Expr::value(0))
            .col_expr(user::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(user::Column::Id.eq(user.id))
            .exec(&ctx.db)
            .await?;
    }
    open_session(ctx, &user, meta, &device).await
}

async fn record_failure(
    ctx: &AppContext,
    user: &user::Model,
    meta: &RequestMeta,
    device: &DeviceInfo,
) -> AppResult<()> {
    let config = ctx.config.section::<crate::config::AccountsConfig>();
    let now = ctx.clock.now();
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    user::Entity::update_many()
        .col_expr(
            user::Column::FailedSignIns,
            sea_orm::sea_query::ExprTrait::add(Expr::col(user::Column::FailedSignIns), 1),
        )
        .filter(user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    let failures = user::Entity::find_by_id(user.id).one(&txn).await?.map_or(0, |u| u.failed_sign_ins);
    log_event(&txn, ctx, user.id, SecurityEventKind::SignInFailed, None, meta, device).await?;
    let locked = failures >= config.lockout_after_failures;
    if locked {
        user::Entity::update_many()
            .col_expr(user::Column::LockedUntil, Expr::value(now + Duration::minutes(config.lockout_minutes)))
            .col_expr(user::Column::FailedSignIns, Expr::value(0))
            .filter(user::Column::Id.eq(user.id))
            .exec(&txn)
            .await?;
        log_event(&txn, ctx, user.id, SecurityEventKind::Locked, None, meta, device).await?;
    }
    txn.commit().await?;
    if locked {
        let body = format!(
            "连续 {failures} 次密码错误，账号已锁定 {} 分钟。如非本人操作，请尽快修改密码。",
            config.lockout_minutes
        );
        notify(
            ctx,
            NewNotification {
                user_id: user.id,
                kind: xqt_notifications::NotificationKind::SecurityLocked,
                title: "账号已临时锁定".into(),
                body,
            },
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn log_event(
    db: &impl ConnectionTrait,
    ctx: &AppContext,
    user: Uuid,
    kind: SecurityEventKind,
    session: Option<Uuid>,
    meta: &RequestMeta,
    device: &DeviceInfo,
) -> AppResult<()> {
    security_event::ActiveModel {
        id: Set(ids::new_id()),
        user_id: Set(user),
        kind: Set(kind),
        session_id: Set(session),
        device_id: Set(device.device_id.clone()),
        device_model: Set(device.model.clone()),
        os: Set(device.os.clone()),
        app_version: Set(device.app_version.clone()),
        network: Set(device.network.clone()),
        ip: Set(ip_of(meta)),
        created_at: Set(ctx.clock.now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Has this person signed in from this device before? Known by the app's device id when the
/// client sends one, else by model and OS.
async fn seen_device(db: &impl ConnectionTrait, user: Uuid, device: &DeviceInfo) -> AppResult<(bool, bool)> {
    let sign_ins = security_event::Entity::find()
        .filter(security_event::Column::UserId.eq(user))
        .filter(security_event::Column::Kind.eq(SecurityEventKind::SignIn));
    let any = sign_ins.clone().count(db).await? > 0;
    let same = match &device.device_id {
        Some(id) => sign_ins.filter(security_event::Column::DeviceId.eq(id.clone())),
        None => sign_ins
            .filter(security_event::Column::DeviceId.is_null())
            .filter(match &device.model {
                Some(m) => security_event::Column::DeviceModel.eq(m.clone()),
                None => security_event::Column::DeviceModel.is_null(),
            })
            .filter(match &device.os {
                Some(o) => security_event::Column::Os.eq(o.clone()),
                None => security_event::Column::Os.is_null(),
            }),
    };
    Ok((any, same.count(db).await? > 0))
}

fn new_refresh_token() -> String {
    format!("{REFRESH_PREFIX}{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
}

fn issue_access(ctx: &AppContext, user: &user::Model, session: Uuid) -> (String, DateTime<Utc>) {
    let now = ctx.clock.now();
    let ttl = Duration::minutes(ctx.config.section::<crate::config::AccountsConfig>().access_token_minutes);
    (ctx.tokens.issue(user.id, session, role_of(user), now, ttl), now + ttl)
}

async fn open_session(
    ctx: &AppContext,
    user: &user::Model,
    meta: &RequestMeta,
    device: &DeviceInfo,
) -> AppResult<SignedIn> {
    let now = ctx.clock.now();
    let session_id = ids::new_id();
    let refresh = new_refresh_token();
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let (signed_in_before, known_device) = seen_device(&txn, user.id, device).await?;
    let new_device = signed_in_before && !known_device;
    session::ActiveModel {
        id: Set(session_id),
        user_id: Set(user.id),
        device_id: Set(device.device_id.clone()),
        device_model: Set(device.model.clone()),
        os: Set(device.os.clone()),
        app_version: Set(device.app_version.clone()),
        network: Set(device.network.clone()),
        ip: Set(ip_of(meta)),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(now + Duration::days(ctx.config.section::<crate::config::AccountsConfig>().refresh_token_days)),
        ended_at: Set(None),
        end_reason: Set(None),
    }
    .insert(&txn)
    .await?;
    refresh_token::ActiveModel {
        id: Set(ids::new_id()),
        session_id: Set(session_id),
        token_hash: Set(token_hash(&refresh)),
        created_at: Set(now),
        used_at: Set(None),
    }
    .insert(&txn)
    .await?;
    log_event(&txn, ctx, user.id, SecurityEventKind::SignIn, Some(session_id), meta, device).await?;
    if new_device {
        log_event(&txn, ctx, user.id, SecurityEventKind::NewDevice, Some(session_id), meta, device).await?;
    }
    txn.commit().await?;
    if new_device {
        let what =
            [device.model.as_deref(), device.os.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" / ");
        let body = format!(
            "你的账号在新设备{}上登录（IP {}）。如非本人操作，请立即退出该设备并修改密码。",
            if what.is_empty() { String::new() } else { format!("「{what}」") },
            ip_of(meta).unwrap_or_else(|| "未知".into())
        );
        notify(
            ctx,
            NewNotification {
                user_id: user.id,
                kind: xqt_notifications::NotificationKind::SecurityNewDevice,
                title: "新设备登录提醒".into(),
                body,
            },
        )
        .await?;
    }
    let (access_token, access_expires_at) = issue_access(ctx, user, session_id);
    Ok(SignedIn { user: user.clone(), session_id, access_token, access_expires_at, refresh_token: refresh, new_device })
}

/// Exchanges a refresh token for new tokens. Each refresh token works once; presenting a used
/// one means it was copied, so the whole session (every token descended from its sign-in) ends.
pub async fn refresh(ctx: &AppContext, token: &str) -> AppResult<SignedIn> {
    let now = ctx.clock.now();
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(token_hash(token.trim())))
        .one(&ctx.db)
        .await?
    else {
        return Err(AccountsError::RefreshInvalid.into());
    };
    let session =
        session::Entity::find_by_id(row.session_id).one(&ctx.db).await?.ok_or(AccountsError::RefreshInvalid)?;
    if session.ended_at.is_some() || session.expires_at <= now {
        return Err(AccountsError::RefreshInvalid.into());
    }
    // Only one exchange can flip `used_at`; a second (concurrent or later) is a replay.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&ctx.db)
        .await?
        .rows_affected;
    if claimed == 0 {
        end_session(ctx, session.user_id, session.id, SecurityEventKind::RefreshReuse).await?;
        tracing::warn!(user = %session.user_id, session = %session.id, "refresh token replayed; session ended");
        return Err(AccountsError::RefreshReused.into());
    }
    let user = find(ctx, session.user_id).await?.ok_or(AccountsError::RefreshInvalid)?;
    let next = new_refresh_token();
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    refresh_token::ActiveModel {
        id: Set(ids::new_id()),
        session_id: Set(session.id),
        token_hash: Set(token_hash(&next)),
        created_at: Set(now),
        used_at: Set(None),
    }
    .insert(&txn)
    .await?;
    session::Entity::update_many()
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .filter(session::Column::Id.eq(session.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    let (access_token, access_expires_at) = issue_access(ctx, &user, session.id);
    Ok(SignedIn {
        user,
        session_id: session.id,
        access_token,
        access_expires_at,
        refresh_token: next,
        new_device: false,
    })
}

fn session_state_key(session: Uuid) -> String {
    format!("accounts:session:{session}")
}

/// Whether the session is live. Cached briefly; ending a session overwrites the cache at once.
pub async fn session_active(ctx: &AppContext, user: Uuid, session: Uuid) -> AppResult<bool> {
    let key = session_state_key(session);
    if let Some(state) = ctx.cache.get_or_miss(&key).await {
        return Ok(state.as_ref() == user.as_bytes());
    }
    let live = session::Entity::find_by_id(session)
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::EndedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(ctx.clock.now()))
        .one(&ctx.db)
        .await?
        .is_some();
    let state = if live { Bytes::copy_from_slice(user.as_bytes()) } else { Bytes::from_static(b"ended") };
    ctx.cache.set_or_skip(&key, state, SESSION_STATE_TTL).await;
    Ok(live)
}

/// Ends one of the person's sessions; its tokens stop working on every instance at once.
pub async fn end_session(ctx: &AppContext, user: Uuid, session: Uuid, reason: SecurityEventKind) -> AppResult<bool> {
    let now = ctx.clock.now();
    let ended = session::Entity::update_many()
        .col_expr(session::Column::EndedAt, Expr::value(now))
        .col_expr(session::Column::EndReason, Expr::value(reason))
        .filter(session::Column::Id.eq(session))
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::EndedAt.is_null())
        .exec(&ctx.db)
        .await?
        .rows_affected
        > 0;
    if ended {
        log_event(&ctx.db, ctx, user, reason, Some(session), &RequestMeta::default(), &DeviceInfo::default()).await?;
        announce_ended(ctx, session).await?;
    }
    Ok(ended)
}

/// Tells every instance at once: the cached state and the live sockets. The database already
/// says the session ended, so with Redis down this is logged and skipped: instances read the
/// database on a cache miss, and a state cached before the outage lapses within
/// `SESSION_STATE_TTL` (60 s) once Redis is back.
async fn announce_ended(ctx: &AppContext, session: Uuid) -> AppResult<()> {
    ctx.cache.set_or_skip(&session_state_key(session), Bytes::from_static(b"ended"), SESSION_STATE_TTL * 2).await;
    if let Err(e) = ctx.bus.publish(SESSIONS_ENDED_TOPIC, Bytes::from(session.to_string())).await {
        tracing::warn!(%session, error = ?e, "session end not announced live: the bus is unreachable");
    }
    Ok(())
}

/// Ends every live session of the person; returns how many.
pub async fn end_all_sessions(ctx: &AppContext, user: Uuid, reason: SecurityEventKind) -> AppResult<u64> {
    let live: Vec<Uuid> = session::Entity::find()
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::EndedAt.is_null())
        .select_only()
        .column(session::Column::Id)
        .into_tuple()
        .all(&ctx.db)
        .await?;
    let mut ended = 0;
    for session in live {
        if end_session(ctx, user, session, reason).await? {
            ended += 1;
        }
    }
    Ok(ended)
}

/// The person's live sessions, newest first.
pub async fn live_sessions(ctx: &AppContext, user: Uuid) -> AppResult<Vec<session::Model>> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::EndedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(ctx.clock.now()))
        .order_by_desc(session::Column::CreatedAt)
        .all(&ctx.db)
        .await?)
}

/// `limit + 1` entries of the person's security log, newest first.
pub async fn security_log(ctx: &AppContext, user: Uuid, page: &PageRequest) -> AppResult<Vec<security_event::Model>> {
    let q = security_event::Entity::find().filter(security_event::Column::UserId.eq(user));
    Ok(page.apply(q, security_event::Column::Id, ListOrder::NewestFirst)?.all(&ctx.db).await?)
}

/// Deletes security records older than the cutoff (security log retention).
pub async fn delete_security_log_before(ctx: &AppContext, cutoff: DateTime<Utc>) -> AppResult<u64> {
    let events = security_event::Entity::delete_many()
        .filter(security_event::Column::CreatedAt.lt(cutoff))
        .exec(&ctx.db)
        .await?;
    let sessions = session::Entity::delete_many()
        .filter(Condition::any().add(session::Column::ExpiresAt.lt(cutoff)).add(session::Column::EndedAt.lt(cutoff)))
        .exec(&ctx.db)
        .await?;
    Ok(events.rows_affected + sessions.rows_affected)
}
