pub mod settle;
