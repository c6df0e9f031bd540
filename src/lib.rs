//! wiredup (skeleton; filled in below)
pub mod boilerplate;
pub mod cluster;
pub mod compare;
pub mod eval;
pub mod io;
pub mod lsh;
pub mod minhash;
pub mod normalize;
pub mod output;
pub mod pipeline;
pub mod shingle;
pub mod verify;
