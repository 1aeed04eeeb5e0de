pub mod day;
pub mod group;
pub mod make_up;
pub mod member;
pub mod photo;
pub mod record;
pub mod site;
