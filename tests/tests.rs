//! Integration tests, one binary (STYLE 5).

mod bad_input;
mod cli;
mod depth;
mod distribution;
mod engine;
mod export;
mod family;
mod lazy;
mod minpert;
mod models;
mod neighbourhood;
mod parsers;
mod records;
mod reliability;
mod reproduce;
