//! The report in each of its formats, from the model alone: email-safe HTML, plain text, the
//! Excel workbook, chart pictures (PNG) and the MIME message that carries them.

pub mod html;
pub mod mime;
pub mod picture;
pub mod pictures;
pub mod text;
pub mod xlsx;
pub mod xlsx_chart;
