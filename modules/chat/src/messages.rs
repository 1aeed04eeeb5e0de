//! Messages: stored with the next sequence number of their conversation in one transaction,
//! idempotent on `(sender, clientMessageId)`, then announced live and pushed to members who are
//! away. Edit and recall have windows; a recall leaves a tombstone with the content gone.

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use sea_orm::prelude::DateTimeUtc;
use sea_orm::sea_query::{
    Alias, Asterisk, CommonTableExpression, Expr, ExprTrait, LikeExpr, OnConflict, Query, UpdateStatement, WithClause,
};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    FromQueryResult, IdenStatic, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};
use serde_json::{Value, json};
use uuid::Uuid;
use xqt_kernel::pagination::{ListOrder, PageRequest};
use xqt_kernel::rate;
use xqt_kernel::text::Text;
use xqt_kernel::{AppContext, AppError, AppResult, ids};

use crate::changes;
use crate::conversations;
use crate::entity::conversation::ConversationKind;
use crate::entity::message::MessageKind;
use crate::entity::{conversation, hidden, member, message};
use crate::error::{ChatError, invalid};
use crate::live::{self, Event};

pub const CLIENT_ID_MAX: usize = 64;
pub const MENTIONS_MAX: usize = 50;
pub const VOICE_MAX_SECS: i32 = 60;
pub const SEARCH_MAX: u64 = 50;
const PLACE_MAX: usize = 100;

impl MessageKind {
    /// Kinds that carry an attachment.
    pub fn attached(self) -> bool {
        matches!(self, MessageKind::Image | MessageKind::Video | MessageKind::Voice | MessageKind::File)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub name: String,
    pub address: Option<String>,
}

/// What a person sends.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub conversation: Uuid,
    /// The client's own id for the message; a retry with the same id returns the first copy.
    pub client_message_id: String,
    pub kind: MessageKind,
    /// The text, or a caption for an attachment.
    pub text: Option<String>,
    pub attachment: Option<Uuid>,
    pub duration_secs: Option<i32>,
    pub location: Option<Location>,
    pub reply_to_seq: Option<i64>,
    pub mentions: Vec<Uuid>,
}

/// Checks what can be checked without the database; returns the trimmed text.
pub fn validate(new: &NewMessage, max_text: usize) -> Result<Option<String>, ChatError> {
    let id = &new.client_message_id;
    if id.is_empty()
        || id.len() > CLIENT_ID_MAX
        || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid("clientMessageId", format!("1 to {CLIENT_ID_MAX} of A-Z, a-z, 0-9, `-` and `_`")));
    }
    let text = Text::block(1, max_text).check_optional(new.text.as_deref()).map_err(|m| invalid("text", m))?;
    match new.kind {
        MessageKind::Text if text.is_none() => return Err(invalid("text", "a text message needs text")),
        MessageKind::System | MessageKind::Call => {
            return Err(invalid("kind", "system and call messages come from the server"));
        }
        k if k.attached() && new.attachment.is_none() => {
            return Err(invalid("attachmentId", format!("a {} message needs an attachment", k.to_value())));
        }
        k if !k.attached() && new.attachment.is_some() => {
            return Err(invalid("attachmentId", format!("a {} message has no attachment", k.to_value())));
        }
        MessageKind::Voice if !new.duration_secs.is_some_and(|d| (1..=VOICE_MAX_SECS).contains(&d)) => {
            return Err(invalid("durationSecs", format!("a voice message lasts 1 to {VOICE_MAX_SECS} seconds")));
        }
        MessageKind::Location => {
            let Some(l) = &new.location else { return Err(invalid("location", "a location card needs a location")) };
            if !(-90.0..=90.0).contains(&l.latitude) || !(-180.0..=180.0).contains(&l.longitude) {
                return Err(invalid("location", "latitude -90 to 90, longitude -180 to 180"));
            }
            Text::line(1, PLACE_MAX).check(&l.name).map_err(|m| invalid("location.name", m))?;
            Text::line(0, 2 * PLACE_MAX)
                .check_optional(l.address.as_deref())
                .map_err(|m| invalid("location.address", m))?;
        }
        _ => {}
    }
    if new.mentions.len() > MENTIONS_MAX {
        return Err(invalid("mentions", format!("at most {MENTIONS_MAX} people")));
    }
    if new.reply_to_seq.is_some_and(|s| s < 1) {
        return Err(invalid("replyToSeq", "a sequence number of this conversation"));
    }
    Ok(text)
}

/// The message `sender` already stored under `client_message_id`, if any.
async fn by_client_id(ctx: &AppContext, sender: Uuid, client_id: &str) -> AppResult<Option<message::Model>> {
    Ok(message::Entity::find()
        .filter(message::Column::SenderId.eq(sender))
        .filter(message::Column::ClientMessageId.eq(client_id))
        .one(&ctx.db)
        .await?)
}

fn same_conversation(m: message::Model, conversation: Uuid) -> AppResult<message::Model> {
    if m.conversation_id == conversation { Ok(m) } else { Err(ChatError::ClientIdReused.into()) }
}

/// Sends a message: only members with a verified real name (Cybersecurity Law Art. 24) who are
/// not restricted from chatting. A retry with the same `clientMessageId` returns the original.
pub async fn send(ctx: &AppContext, sender: Uuid, new: NewMessage) -> AppResult<message::Model> {
    let text = validate(&new, ctx.config.section::<crate::config::ChatConfig>().max_text_chars)?;
    if let Some(first) = by_client_id(ctx, sender, &new.client_message_id).await? {
        return same_conversation(first, new.conversation);
    }
    let (c, _) = conversations::require_member(ctx, new.conversation, sender).await?;
    xqt_accounts::reports::require_verified_and_unrestricted(
        ctx,
        sender,
        xqt_accounts::reports::RestrictedAction::Chat,
    )
    .await?;
    throttle(ctx, sender).await?;
    if new.reply_to_seq.is_some_and(|s| s > c.last_seq) {
        return Err(invalid("replyToSeq", "no such message in this conversation").into());
    }
    let mentions: Vec<Uuid> = {
        let mut seen = HashSet::new();
        new.mentions.iter().copied().filter(|u| *u != sender && seen.insert(*u)).collect()
    };
    for u in &mentions {
        if conversations::membership(ctx, c.id, *u).await?.is_none() {
            return Err(invalid("mentions", format!("{u} is not in this conversation")).into());
        }
    }
    let payload = match new.kind {
        k if k.attached() => {
            let id = new.attachment.expect("validated");
            let a = crate::attachments::for_message(ctx, sender, c.id, id, k).await?;
            Some(json!({
                "attachmentId": a.id, "contentType": a.content_type, "size": a.size,
                "fileName": a.file_name, "durationSecs": new.duration_secs,
            }))
        }
        MessageKind::Location => new.location.as_ref().map(|l| {
            json!({ "latitude": l.latitude, "longitude": l.longitude, "name": l.name.trim(), "address": l.address })
        }),
        _ => None,
    };
    let draft = Draft {
        sender: Some(sender),
        client_message_id: Some(new.client_message_id.clone()),
        kind: new.kind,
        body: text,
        payload,
        attachment: new.attachment,
        reply_to_seq: new.reply_to_seq,
        mentions,
        push: true,
    };
    let stored = match store(ctx, c.id, draft).await {
        Ok(m) => m,
        // A concurrent retry won the race: the constraint kept one copy; return it.
        Err(Stored::Duplicate) => {
            let first = by_client_id(ctx, sender, &new.client_message_id).await?;
            return same_conversation(first.ok_or_else(|| AppError::internal("duplicate vanished"))?, c.id);
        }
        Err(Stored::Failed(e)) => return Err(e),
    };
    Ok(stored)
}

/// At most `chat.messages_per_minute` new messages per person per clock minute.
async fn throttle(ctx: &AppContext, sender: Uuid) -> AppResult<()> {
    let max = ctx.config.section::<crate::config::ChatConfig>().messages_per_minute;
    let limit = rate::Limit { name: "chat.send", max, window: rate::Window::Minute, uncounted: rate::Uncounted::Allow };
    rate::hit(ctx, limit, &sender.to_string()).await?.map_err(|e| e.error(format!("at most {max} messages a minute")))
}

struct Draft {
    pub sender: Option<Uuid>,
    pub client_message_id: Option<String>,
    pub kind: MessageKind,
    pub body: Option<String>,
    pub payload: Option<Value>,
    /// Tied to the message in its transaction.
    pub attachment: Option<Uuid>,
    pub reply_to_seq: Option<i64>,
    pub mentions: Vec<Uuid>,
    /// Queue the push to members who are away, in the message's own transaction.
    pub push: bool,
}

enum Stored {
    Duplicate,
    Failed(AppError),
}

impl<E: Into<AppError>> From<E> for Stored {
    fn from(e: E) -> Self {
        Stored::Failed(e.into())
    }
}

/// Commits the message with the conversation's next sequence number and change position (and,
/// for a sent message, its push job: one commit), then publishes it. The counters' row lock
/// (PostgreSQL) or the single writer (SQLite) keeps both dense.
async fn store(ctx: &AppContext, conversation_id: Uuid, draft: Draft) -> Result<message::Model, Stored> {
    let stored = if ctx.db.get_database_backend() == DbBackend::Postgres && draft.attachment.is_none() {
        store_in_one_statement(ctx, conversation_id, draft).await?
    } else {
        store_in_transaction(ctx, conversation_id, draft).await?
    };
    live::publish(ctx, conversation_id, Some(stored.position), &Event::Message { message: Box::new(stored.clone()) })
        .await;
    Ok(stored)
}

/// The stored row, but for `seq` and `position`: the conversation's counters once taken.
fn new_row(conversation_id: Uuid, draft: &Draft, now: DateTimeUtc) -> message::ActiveModel {
    message::ActiveModel {
        id: Set(ids::new_id()),
        conversation_id: Set(conversation_id),
        sender_id: Set(draft.sender),
        client_message_id: Set(draft.client_message_id.clone()),
        kind: Set(draft.kind),
        body: Set(draft.body.clone()),
        payload: Set(draft.payload.as_ref().map(Value::to_string)),
        reply_to_seq: Set(draft.reply_to_seq),
        mentions: Set((!draft.mentions.is_empty()).then(|| json!(draft.mentions).to_string())),
        created_at: Set(now),
        edited_at: Set(None),
        recalled_at: Set(None),
        recalled_by: Set(None),
        ..Default::default()
    }
}

/// Takes the conversation's next sequence number and change position for this message, and
/// returns both.
fn take_counters(conversation_id: Uuid, message: Uuid, now: DateTimeUtc) -> UpdateStatement {
    Query::update()
        .table(conversation::Entity)
        .value(conversation::Column::LastSeq, Expr::col(conversation::Column::LastSeq).add(1))
        .value(conversation::Column::LastPosition, Expr::col(conversation::Column::LastPosition).add(1))
        .value(conversation::Column::LastActivity, message)
        .value(conversation::Column::UpdatedAt, now)
        .value(conversation::Column::LastChangedAt, now)
        .and_where(Expr::col(conversation::Column::Id).eq(conversation_id))
        .returning(Query::returning().columns([conversation::Column::LastSeq, conversation::Column::LastPosition]))
        .to_owned()
}

/// A failed insert of the row: a duplicate client id is a retry's, anything else a failure.
fn not_stored(e: DbErr) -> Stored {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Stored::Duplicate,
        _ => Stored::Failed(e.into()),
    }
}

/// What one sends, one has read: the sender's read marker moves up to `seq`.
fn sender_has_read(conversation_id: Uuid, sender: Uuid, seq: Expr) -> UpdateStatement {
    Query::update()
        .table(member::Entity)
        .value(member::Column::LastReadSeq, seq.clone())
        .and_where(Expr::col(member::Column::ConversationId).eq(conversation_id))
        .and_where(Expr::col(member::Column::UserId).eq(sender))
        .and_where(Expr::col(member::Column::LastReadSeq).lt(seq))
        .to_owned()
}

/// PostgreSQL: the counters, the row, the read marker and the push job in one statement, one
/// round trip and its own commit, where the transaction takes six (BEGIN, four writes, COMMIT).
/// Data-modifying CTEs run once each, to completion, on one snapshot; the counters' UPDATE takes
/// the conversation's row lock, so concurrent sends still number densely. A duplicate client id
/// fails the whole statement, so no number is taken.
async fn store_in_one_statement(
    ctx: &AppContext,
    conversation_id: Uuid,
    draft: Draft,
) -> Result<message::Model, Stored> {
    const COUNTERS: &str = "counters";
    const STORED: &str = "stored";
    let now = ctx.clock.now();
    let row = new_row(conversation_id, &draft, now);
    let id = *row.id.as_ref();
    let taken = |c: conversation::Column| Some(Expr::col((Alias::new(COUNTERS), c)));
    let insert = xqt_kernel::db::insert_from(&row, COUNTERS, |column| match column {
        message::Column::Seq => taken(conversation::Column::LastSeq),
        message::Column::Position => taken(conversation::Column::LastPosition),
        _ => None,
    })
    .returning_all()
    .to_owned();
    let counters = take_counters(conversation_id, id, now);
    let mut with = WithClause::new();
    with.cte(CommonTableExpression::new().query(counters).table_name(Alias::new(COUNTERS)).to_owned())
        .cte(CommonTableExpression::new().query(insert).table_name(Alias::new(STORED)).to_owned());
    if let Some(sender) = draft.sender {
        let seq = Expr::cust(format!("(SELECT \"{}\" FROM \"{COUNTERS}\")", conversation::Column::LastSeq.as_str()));
        with.cte(
            CommonTableExpression::new()
                .query(sender_has_read(conversation_id, sender, seq))
                .table_name(Alias::new("read"))
                .to_owned(),
        );
    }
    if draft.push
        && let Some(job) = crate::jobs::push_per_row(ctx, id, draft.kind, STORED)
    {
        with.cte(CommonTableExpression::new().query(job).table_name(Alias::new("push")).to_owned());
    }
    let statement = Query::select().column(Asterisk).from(Alias::new(STORED)).to_owned().with(with);
    let stmt = ctx.db.get_database_backend().build(&statement);
    match message::Model::find_by_statement(stmt).one(&ctx.db).await {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(AppError::from(ChatError::NotFound("conversation")).into()),
        Err(e) => Err(not_stored(e)),
    }
}

/// The same writes in a transaction (SQLite, whose single writer makes each step cheap, and a
/// message with an attachment, which is tied to it or refused in between).
async fn store_in_transaction(ctx: &AppContext, conversation_id: Uuid, draft: Draft) -> Result<message::Model, Stored> {
    let now = ctx.clock.now();
    let mut row = new_row(conversation_id, &draft, now);
    let id = *row.id.as_ref();
    let txn = xqt_kernel::db::begin(&ctx.db).await.map_err(AppError::from)?;
    let taken = txn.query_one(&take_counters(conversation_id, id, now)).await.map_err(AppError::from)?;
    let taken = taken.ok_or(ChatError::NotFound("conversation"))?;
    let seq: i64 = taken.try_get("", "last_seq").map_err(AppError::from)?;
    let position: i64 = taken.try_get("", "last_position").map_err(AppError::from)?;
    row.seq = Set(seq);
    row.position = Set(position);
    let stored = row.insert(&txn).await.map_err(not_stored)?;
    if let Some(a) = draft.attachment
        && !crate::attachments::attach(&txn, a, id).await?
    {
        return Err(invalid("attachmentId", "this attachment was sent with another message").into());
    }
    if let Some(sender) = draft.sender {
        txn.execute(&sender_has_read(conversation_id, sender, Expr::val(seq))).await.map_err(AppError::from)?;
    }
    if draft.push {
        crate::jobs::queue_push(&txn, ctx, &stored, false).await?;
    }
    txn.commit().await.map_err(AppError::from)?;
    Ok(stored)
}

/// A server-written line in the history (someone joined, a group was created).
pub async fn post_system(ctx: &AppContext, conversation: Uuid, event: &str, data: Value) -> AppResult<message::Model> {
    let mut payload = data;
    payload["event"] = Value::String(event.to_owned());
    post_record(ctx, conversation, None, MessageKind::System, payload, false).await
}

/// A record the server writes into the history (a system line, a call's outcome), in sequence
/// like any message; it has no client id, so it cannot collide with a retry.
pub(crate) async fn post_record(
    ctx: &AppContext,
    conversation: Uuid,
    sender: Option<Uuid>,
    kind: MessageKind,
    payload: Value,
    push: bool,
) -> AppResult<message::Model> {
    let draft = Draft {
        sender,
        client_message_id: None,
        kind,
        body: None,
        payload: Some(payload),
        attachment: None,
        reply_to_seq: None,
        mentions: vec![],
        push,
    };
    store(ctx, conversation, draft).await.map_err(|e| match e {
        Stored::Duplicate => AppError::internal("a server record collided"),
        Stored::Failed(e) => e,
    })
}

/// Messages the person hid (in one conversation, or in all), as a subquery.
fn hidden_by(me: Uuid, conversation: Option<Uuid>) -> sea_orm::sea_query::SelectStatement {
    let mut q = Query::select();
    q.column(hidden::Column::MessageId).from(hidden::Entity).and_where(Expr::col(hidden::Column::UserId).eq(me));
    if let Some(c) = conversation {
        q.and_where(Expr::col(hidden::Column::ConversationId).eq(c));
    }
    q
}

/// One page of the conversation's history in sequence order (cursor = sequence number).
pub async fn history(
    ctx: &AppContext,
    me: Uuid,
    conversation: Uuid,
    page: &PageRequest,
) -> AppResult<Vec<message::Model>> {
    conversations::require_member(ctx, conversation, me).await?;
    let q = message::Entity::find()
        .filter(message::Column::ConversationId.eq(conversation))
        .filter(message::Column::Id.not_in_subquery(hidden_by(me, Some(conversation))));
    Ok(page
        .apply_keyed(q, message::Column::Seq, ListOrder::OldestFirst, |c| c.parse::<i64>().ok())?
        .all(&ctx.db)
        .await?)
}

/// The newest message the person has not deleted for themselves (a conversation list's preview).
pub async fn latest_visible(ctx: &AppContext, me: Uuid, conversation: Uuid) -> AppResult<Option<message::Model>> {
    Ok(message::Entity::find()
        .filter(message::Column::ConversationId.eq(conversation))
        .filter(message::Column::Id.not_in_subquery(hidden_by(me, Some(conversation))))
        .order_by_desc(message::Column::Seq)
        .one(&ctx.db)
        .await?)
}

/// The change position of the message with sequence number `seq` (0 before the first).
pub async fn position_of(ctx: &AppContext, conversation: Uuid, seq: i64) -> AppResult<Option<i64>> {
    if seq == 0 {
        return Ok(Some(0));
    }
    Ok(message::Entity::find()
        .select_only()
        .column(message::Column::Position)
        .filter(message::Column::ConversationId.eq(conversation))
        .filter(message::Column::Seq.eq(seq))
        .into_tuple::<i64>()
        .one(&ctx.db)
        .await?)
}

fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// Text messages containing `text`, newest first, in one conversation or all of the person's.
pub async fn search(
    ctx: &AppContext,
    me: Uuid,
    conversation: Option<Uuid>,
    text: &str,
    limit: u64,
) -> AppResult<Vec<message::Model>> {
    let text = &Text::line(1, 100).check(text).map_err(|m| invalid("text", m))?;
    if !(1..=SEARCH_MAX).contains(&limit) {
        return Err(invalid("first", format!("1 to {SEARCH_MAX}")).into());
    }
    let scope: Vec<Uuid> = match conversation {
        Some(c) => vec![conversations::require_member(ctx, c, me).await?.0.id],
        None => conversations::mine(ctx, me).await?.into_iter().map(|(c, _)| c.id).collect(),
    };
    Ok(message::Entity::find()
        .filter(message::Column::ConversationId.is_in(scope))
        .filter(message::Column::RecalledAt.is_null())
        .filter(Expr::col(message::Column::Body).like(LikeExpr::new(like_pattern(text)).escape('\\')))
        .filter(message::Column::Id.not_in_subquery(hidden_by(me, None)))
        .order_by_desc(message::Column::CreatedAt)
        .limit(limit)
        .all(&ctx.db)
        .await?)
}

/// The message, for a member of its conversation; NOT_FOUND for anyone else.
pub async fn visible(
    ctx: &AppContext,
    me: Uuid,
    id: Uuid,
) -> AppResult<(message::Model, conversation::Model, member::Model)> {
    let m = message::Entity::find_by_id(id).one(&ctx.db).await?.ok_or(ChatError::NotFound("message"))?;
    let (c, mine) = conversations::require_member(ctx, m.conversation_id, me)
        .await
        .map_err(|_| AppError::from(ChatError::NotFound("message")))?;
    Ok((m, c, mine))
}

fn within(ctx: &AppContext, m: &message::Model, seconds: i64) -> bool {
    ctx.clock.now() - m.created_at <= Duration::seconds(seconds)
}

/// The sender edits a text message within the edit window.
pub async fn edit(ctx: &AppContext, me: Uuid, id: Uuid, text: &str) -> AppResult<message::Model> {
    let (m, _, _) = visible(ctx, me, id).await?;
    if m.sender_id != Some(me) {
        return Err(ChatError::NotAllowed("only the sender can edit a message").into());
    }
    if m.recalled_at.is_some() {
        return Err(ChatError::Recalled.into());
    }
    if m.kind != MessageKind::Text {
        return Err(invalid("messageId", "only text messages can be edited").into());
    }
    let window = ctx.config.section::<crate::config::ChatConfig>().edit_window_secs;
    if !within(ctx, &m, window) {
        return Err(ChatError::WindowPassed { action: "edited", seconds: window }.into());
    }
    let max = ctx.config.section::<crate::config::ChatConfig>().max_text_chars;
    let text = &Text::block(1, max).check(text).map_err(|m| invalid("text", m))?;
    let conversation = m.conversation_id;
    let mut row: message::ActiveModel = m.into();
    row.body = Set(Some(text.to_owned()));
    row.edited_at = Set(Some(ctx.clock.now()));
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let updated = row.update(&txn).await?;
    let position = changes::record_update(&txn, ctx, conversation, updated.id).await?;
    txn.commit().await?;
    live::publish(ctx, conversation, Some(position), &Event::Updated { message: Box::new(updated.clone()) }).await;
    Ok(updated)
}

/// Recalls a message: its sender within the recall window, a group's owner or admins at any
/// time. The content and any attachment are erased; a tombstone stays in its place.
pub async fn recall(ctx: &AppContext, me: Uuid, id: Uuid) -> AppResult<message::Model> {
    let (m, c, mine) = visible(ctx, me, id).await?;
    if m.recalled_at.is_some() {
        return Err(ChatError::Recalled.into());
    }
    if matches!(Some(m.kind), Some(MessageKind::System | MessageKind::Call)) {
        return Err(invalid("messageId", "system and call records cannot be recalled").into());
    }
    let manager = c.kind != ConversationKind::Direct && mine.role.manages();
    if !manager {
        if m.sender_id != Some(me) {
            return Err(ChatError::NotAllowed("only the sender or a group's owner and admins can recall").into());
        }
        let window = ctx.config.section::<crate::config::ChatConfig>().recall_window_secs;
        if !within(ctx, &m, window) {
            return Err(ChatError::WindowPassed { action: "recalled", seconds: window }.into());
        }
    }
    let attachment = attachment_of(&m);
    let mut row: message::ActiveModel = m.into();
    row.body = Set(None);
    row.payload = Set(None);
    row.mentions = Set(None);
    row.edited_at = Set(None);
    row.recalled_at = Set(Some(ctx.clock.now()));
    row.recalled_by = Set(Some(me));
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let updated = row.update(&txn).await?;
    let position = changes::record_update(&txn, ctx, c.id, updated.id).await?;
    crate::jobs::queue_push(&txn, ctx, &updated, true).await?;
    txn.commit().await?;
    if let Some(a) = attachment {
        crate::attachments::delete(ctx, a).await?;
    }
    live::publish(ctx, c.id, Some(position), &Event::Updated { message: Box::new(updated.clone()) }).await;
    Ok(updated)
}

pub fn attachment_of(m: &message::Model) -> Option<Uuid> {
    let payload: Value = serde_json::from_str(m.payload.as_deref()?).ok()?;
    payload["attachmentId"].as_str().and_then(|s| Uuid::parse_str(s).ok())
}

/// Deletes a message for the person only; a recall's tombstone cannot be deleted.
pub async fn hide(ctx: &AppContext, me: Uuid, id: Uuid) -> AppResult<()> {
    let (m, _, _) = visible(ctx, me, id).await?;
    if m.recalled_at.is_some() {
        return Err(ChatError::Recalled.into());
    }
    let row = hidden::ActiveModel {
        user_id: Set(me),
        message_id: Set(m.id),
        conversation_id: Set(m.conversation_id),
        seq: Set(m.seq),
    };
    hidden::Entity::insert(row)
        .on_conflict(OnConflict::columns([hidden::Column::UserId, hidden::Column::MessageId]).do_nothing().to_owned())
        .exec_without_returning(&ctx.db)
        .await?;
    Ok(())
}

/// Moves the person's read position forward to `seq` (never back); tells the others live.
pub async fn mark_read(ctx: &AppContext, me: Uuid, conversation: Uuid, seq: i64) -> AppResult<i64> {
    let (c, m) = conversations::require_member(ctx, conversation, me).await?;
    if seq < 0 {
        return Err(invalid("seq", "a sequence number, 0 or more").into());
    }
    let seq = Ord::min(seq, c.last_seq);
    if seq <= m.last_read_seq {
        return Ok(m.last_read_seq);
    }
    let moved = member::Entity::update_many()
        .col_expr(member::Column::LastReadSeq, Expr::value(seq))
        .filter(member::Column::ConversationId.eq(conversation))
        .filter(member::Column::UserId.eq(me))
        .filter(member::Column::LastReadSeq.lt(seq))
        .exec(&ctx.db)
        .await?
        .rows_affected;
    if moved > 0 {
        live::publish(ctx, conversation, None, &Event::Read { user_id: me, seq }).await;
    }
    Ok(seq)
}

/// What one conversation's unread count depends on, for one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnreadKey {
    pub user: Uuid,
    pub conversation: Uuid,
    pub read_seq: i64,
    pub last_seq: i64,
}

impl UnreadKey {
    pub fn of(m: &member::Model, last_seq: i64) -> Self {
        Self { user: m.user_id, conversation: m.conversation_id, read_seq: m.last_read_seq, last_seq }
    }
}

/// Unread messages of several of one person's conversations, in one query. Computed from the
/// sequence window after each read position (no counter to drift): others' messages there, less
/// the recalled and those the person deleted.
pub async fn unread_counts(ctx: &AppContext, user: Uuid, keys: &[UnreadKey]) -> AppResult<HashMap<Uuid, u64>> {
    let mut out: HashMap<Uuid, u64> = keys.iter().map(|k| (k.conversation, 0)).collect();
    let mut windows = Condition::any();
    let mut any = false;
    for k in keys.iter().filter(|k| k.user == user && k.last_seq > k.read_seq) {
        windows = windows.add(
            Condition::all()
                .add(message::Column::ConversationId.eq(k.conversation))
                .add(message::Column::Seq.gt(k.read_seq)),
        );
        any = true;
    }
    if !any {
        return Ok(out);
    }
    let counts: Vec<(Uuid, i64)> = message::Entity::find()
        .select_only()
        .column(message::Column::ConversationId)
        .column_as(Expr::col(message::Column::Id).count(), "unread")
        .filter(windows)
        .filter(message::Column::RecalledAt.is_null())
        .filter(message::Column::Kind.ne(MessageKind::System))
        .filter(Condition::any().add(message::Column::SenderId.is_null()).add(message::Column::SenderId.ne(user)))
        .filter(message::Column::Id.not_in_subquery(hidden_by(user, None)))
        .group_by(message::Column::ConversationId)
        .into_tuple()
        .all(&ctx.db)
        .await?;
    for (conversation, n) in counts {
        out.insert(conversation, u64::try_from(n).unwrap_or(0));
    }
    Ok(out)
}

/// `latest_visible` of several of one person's conversations, given their last sequence
/// numbers: one query, and one more per conversation whose newest message the person deleted.
pub async fn latest_visible_many(
    ctx: &AppContext,
    user: Uuid,
    conversations: &[(Uuid, i64)],
) -> AppResult<HashMap<Uuid, message::Model>> {
    let mut newest = Condition::any();
    let mut any = false;
    for (c, last) in conversations.iter().filter(|(_, last)| *last > 0) {
        newest = newest
            .add(Condition::all().add(message::Column::ConversationId.eq(*c)).add(message::Column::Seq.eq(*last)));
        any = true;
    }
    let mut out = HashMap::new();
    if !any {
        return Ok(out);
    }
    for m in message::Entity::find()
        .filter(newest)
        .filter(message::Column::Id.not_in_subquery(hidden_by(user, None)))
        .all(&ctx.db)
        .await?
    {
        out.insert(m.conversation_id, m);
    }
    for (c, last) in conversations {
        if *last > 0
            && !out.contains_key(c)
            && let Some(m) = latest_visible(ctx, user, *c).await?
        {
            out.insert(*c, m);
        }
    }
    Ok(out)
}

/// Who has read the message (its sender aside).
pub async fn read_by(ctx: &AppContext, m: &message::Model) -> AppResult<Vec<Uuid>> {
    let mut q = member::Entity::find()
        .filter(member::Column::ConversationId.eq(m.conversation_id))
        .filter(member::Column::LastReadSeq.gte(m.seq));
    if let Some(sender) = m.sender_id {
        q = q.filter(member::Column::UserId.ne(sender));
    }
    Ok(q.order_by_asc(member::Column::JoinedAt).all(&ctx.db).await?.into_iter().map(|r| r.user_id).collect())
}

/// Reports a message to the platform through Accounts' reports, naming its sender.
pub async fn report(
    ctx: &AppContext,
    me: Uuid,
    id: Uuid,
    category: xqt_accounts::reports::ReportCategory,
    description: &str,
) -> AppResult<xqt_accounts::entity::report::Model> {
    let (m, _, _) = visible(ctx, me, id).await?;
    let Some(sender) = m.sender_id else {
        return Err(invalid("messageId", "system messages and erased accounts cannot be reported").into());
    };
    let subject = xqt_accounts::reports::Subject {
        module: "chat",
        kind: xqt_accounts::reports::ReportSubject::Message,
        id: Some(m.id),
        responsible_user: Some(sender),
        organization: None,
    };
    xqt_accounts::reports::file(ctx, me, subject, category, description, None).await
}

pub async fn last_seq(ctx: &AppContext, conversation: Uuid) -> AppResult<i64> {
    Ok(conversations::find(ctx, conversation).await?.map_or(0, |c| c.last_seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> NewMessage {
        NewMessage {
            conversation: Uuid::nil(),
            client_message_id: "c-1".into(),
            kind: MessageKind::Text,
            text: Some(t.into()),
            attachment: None,
            duration_secs: None,
            location: None,
            reply_to_seq: None,
            mentions: vec![],
        }
    }

    fn field(r: Result<Option<String>, ChatError>) -> &'static str {
        match r {
            Err(ChatError::Invalid { field, .. }) => field,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn validation_names_the_bad_field() {
        assert_eq!(validate(&text("  你好 "), 10), Ok(Some("你好".into())));
        assert_eq!(field(validate(&text("   "), 10)), "text");
        assert_eq!(field(validate(&text(&"字".repeat(11)), 10)), "text");
        assert_eq!(
            field(validate(&NewMessage { client_message_id: "bad id".into(), ..text("x") }, 10)),
            "clientMessageId"
        );
        assert_eq!(
            field(validate(&NewMessage { client_message_id: "a".repeat(65), ..text("x") }, 10)),
            "clientMessageId"
        );
        assert_eq!(field(validate(&NewMessage { kind: MessageKind::Image, ..text("x") }, 10)), "attachmentId");
        let voice = NewMessage { kind: MessageKind::Voice, attachment: Some(Uuid::nil()), text: None, ..text("") };
        assert_eq!(field(validate(&voice, 10)), "durationSecs");
        assert!(validate(&NewMessage { duration_secs: Some(60), ..voice.clone() }, 10).is_ok());
        assert_eq!(field(validate(&NewMessage { duration_secs: Some(61), ..voice }, 10)), "durationSecs");
        assert_eq!(field(validate(&NewMessage { kind: MessageKind::System, ..text("x") }, 10)), "kind");
        let place = |lat: f64| NewMessage {
            kind: MessageKind::Location,
            text: None,
            location: Some(Location { latitude: lat, longitude: 116.4, name: "天安门".into(), address: None }),
            ..text("")
        };
        assert!(validate(&place(39.9), 10).is_ok());
        assert_eq!(field(validate(&place(91.0), 10)), "location");
        assert_eq!(field(validate(&NewMessage { reply_to_seq: Some(0), ..text("x") }, 10)), "replyToSeq");
        assert_eq!(field(validate(&NewMessage { mentions: vec![Uuid::nil(); 51], ..text("x") }, 10)), "mentions");
    }

    #[test]
    fn search_patterns_match_literally() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
