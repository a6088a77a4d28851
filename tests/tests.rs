//! Integration tests, one binary (STYLE 5).

mod architecture;
mod bad_input;
mod brought;
mod cli;
mod depth;
mod distribution;
mod engine;
mod export;
mod family;
mod general_measures;
mod golden;
mod lazy;
mod minnorm;
mod minpert;
mod models;
mod neighbourhood;
mod norms;
mod parsers;
mod phase;
mod records;
mod reliability;
mod reproduce;
mod sweep;
