//! Rebuilds the crate when a migration changes, so `embed_migrations!` never misses one.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/sqlite");
    println!("cargo:rerun-if-changed=../../migrations/postgres");
}
