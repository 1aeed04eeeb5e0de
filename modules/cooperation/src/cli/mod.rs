pub mod reindex;
