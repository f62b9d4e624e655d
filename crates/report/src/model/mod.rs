//! The report as data: what it shows (`data`), how values read (`display`) and its charts as
//! points and lines (`chart`), with its problems (`problems`), its numbers that are unusual for the weekday (`unusual`) and
//! its one-line summary (`summary`) and whether it is sent (`send_when`). Every renderer reads it; it
//! knows none of them.

pub mod chart;
pub mod data;
pub mod display;
pub mod pivot;
pub mod problems;
pub mod send_when;
pub mod summary;
pub mod unusual;
