//! Hash chains for the append-only logs (consent ledger, audit log). Each record carries its
//! sequence number, the previous record's hash and its own: SHA-256 over the previous hash and
//! the record's canonical JSON. Appends take the chain head's row lock (an UPDATE, so PostgreSQL
//! and SQLite both serialise them); `verify` recomputes everything and finds any edit, insert
//! or deletion made behind the API's back.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use xqt_kernel::crypto::sha256_hex;
use xqt_kernel::{AppContext, AppError, AppResult};

use crate::entity::chain_head;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const VERIFY_BATCH: u64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    Consent,
    Audit,
}

impl Chain {
    pub fn name(self) -> &'static str {
        match self {
            Chain::Consent => "consent",
            Chain::Audit => "audit",
        }
    }
}

/// Timestamps in chained records are kept to the microsecond, which both databases store exactly.
pub fn timestamp(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// A record that lives in a chain: its canonical form is its JSON with `hash` left empty.
pub trait Chained: Serialize + Clone {
    fn seq(&self) -> i64;
    fn prev_hash(&self) -> &str;
    fn hash(&self) -> &str;
    fn without_hash(&self) -> Self;

    fn computed_hash(&self) -> AppResult<String> {
        let canonical = serde_json::to_string(&self.without_hash()).map_err(AppError::internal)?;
        Ok(sha256_hex(format!("{}\n{canonical}", self.prev_hash()).as_bytes()))
    }
}

/// Implements `Chained` for an entity model with `seq`, `prev_hash` and `hash` columns.
#[macro_export]
macro_rules! chained {
    ($model:ty) => {
        impl $crate::chain::Chained for $model {
            fn seq(&self) -> i64 {
                self.seq
            }
            fn prev_hash(&self) -> &str {
                &self.prev_hash
            }
            fn hash(&self) -> &str {
                &self.hash
            }
            fn without_hash(&self) -> Self {
                Self { hash: String::new(), ..self.clone() }
            }
        }
    };
}

/// The next position in a chain, reserved under the head's row lock until the transaction ends.
pub struct Link {
    pub chain: Chain,
    pub seq: i64,
    pub prev_hash: String,
}

impl Link {
    /// Reserves the next sequence number; call inside the transaction that inserts the record.
    pub async fn next(db: &impl ConnectionTrait, chain: Chain) -> AppResult<Self> {
        chain_head::Entity::update_many()
            .col_expr(chain_head::Column::Seq, Expr::col(chain_head::Column::Seq).add(1))
            .filter(chain_head::Column::Chain.eq(chain.name()))
            .exec(db)
            .await?;
        let head = chain_head::Entity::find_by_id(chain.name().to_owned())
            .one(db)
            .await?
            .ok_or_else(|| AppError::internal(format!("chain head `{}` missing", chain.name())))?;
        Ok(Self { chain, seq: head.seq, prev_hash: head.hash })
    }

    /// Moves the head to the record just inserted.
    pub async fn close(self, db: &impl ConnectionTrait, hash: &str) -> AppResult<()> {
        chain_head::Entity::update_many()
            .col_expr(chain_head::Column::Hash, Expr::value(hash))
            .filter(chain_head::Column::Chain.eq(self.chain.name()))
            .exec(db)
            .await?;
        Ok(())
    }
}

/// What `verify` found in one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub chain: &'static str,
    pub records: u64,
    /// The first problem, if any: `(seq, what)`.
    pub broken: Option<(i64, String)>,
}

impl ChainReport {
    pub fn ok(&self) -> bool {
        self.broken.is_none()
    }
}

/// Walks a chain from the start, recomputing every hash, then checks the head.
pub async fn verify<E>(ctx: &AppContext, chain: Chain, seq_col: E::Column) -> AppResult<ChainReport>
where
    E: EntityTrait,
    E::Model: Chained + Sync,
{
    let mut report = ChainReport { chain: chain.name(), records: 0, broken: None };
    let (mut expected_seq, mut prev) = (1i64, GENESIS.to_owned());
    loop {
        let rows =
            E::find().filter(seq_col.gte(expected_seq)).order_by_asc(seq_col).limit(VERIFY_BATCH).all(&ctx.db).await?;
        let done = (rows.len() as u64) < VERIFY_BATCH;
        for row in rows {
            let problem = if row.seq() != expected_seq {
                Some(format!("expected record {expected_seq}, found {}: records are missing", row.seq()))
            } else if row.prev_hash() != prev {
                Some("does not link to the record before it".to_owned())
            } else if row.computed_hash()? != row.hash() {
                Some("its content does not match its hash: it was altered".to_owned())
            } else {
                None
            };
            if let Some(what) = problem {
                report.broken = Some((expected_seq, what));
                return Ok(report);
            }
            report.records += 1;
            prev = row.hash().to_owned();
            expected_seq += 1;
        }
        if done {
            break;
        }
    }
    let head = chain_head::Entity::find_by_id(chain.name().to_owned()).one(&ctx.db).await?;
    match head {
        Some(h) if h.seq == expected_seq - 1 && h.hash == prev => {}
        Some(h) => {
            report.broken = Some((h.seq, "the chain head names records that are not there: the tail was cut".into()))
        }
        None => report.broken = Some((0, "the chain head is missing".into())),
    }
    Ok(report)
}
