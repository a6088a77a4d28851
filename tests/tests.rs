//! Integration tests, one binary (STYLE 5).

mod cli;
mod depth;
mod distribution;
mod engine;
mod export;
mod lazy;
mod minpert;
mod neighbourhood;
mod reproduce;
