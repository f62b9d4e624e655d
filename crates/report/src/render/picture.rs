//! Line, scatter and quadrant charts as PNG pictures: drawn by plotters into a pixel buffer
//! with the font compiled into the binary (it draws Hangul; no system fonts are needed), at
//! twice the pixels they are shown at so they are sharp on high-density screens.

use crate::model::chart::{Dot, Plot, median, quadrant_names};
use crate::model::display::clip;
use daybook_core::config::{ChartKind, ChartSpec};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// NanumGothic cut to what reports print, renamed as its licence asks: `fonts/OFL.txt`.
const FONT: &[u8] = include_bytes!("../../../../fonts/DaybookChartGothic.ttf");

/// The picture's size as shown in the email (CSS pixels); it is drawn at twice this.
pub const SHOWN_WIDTH: u32 = 400;
pub const SHOWN_HEIGHT: u32 = 260;
/// The smallest text in a picture, in the picture's CSS pixels: a phone's column of about 366
/// px shows a picture at 0.9 of its size, and its text at no less than 11 px.
pub const SMALLEST_TEXT: u32 = 13;
const SCALE: u32 = 2;
const WIDTH: u32 = SHOWN_WIDTH * SCALE;
const HEIGHT: u32 = SHOWN_HEIGHT * SCALE;

const PALETTE: [RGBColor; 6] = [
    RGBColor(0x25, 0x63, 0xeb),
    RGBColor(0xea, 0x58, 0x0c),
    RGBColor(0x16, 0xa3, 0x4a),
    RGBColor(0x93, 0x33, 0xea),
    RGBColor(0xdc, 0x26, 0x26),
    RGBColor(0x0d, 0x94, 0x88),
];
const INK: RGBColor = RGBColor(0x37, 0x41, 0x51);
const FAINT: RGBColor = RGBColor(0x9c, 0xa3, 0xaf);

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and parsed by a test; a failure here is a broken build.
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            panic!("the compiled-in chart font does not parse");
        }
    });
}

/// How the numbers on an axis read (the column's format: money, percent, …).
pub type AxisFormat<'a> = &'a dyn Fn(f64) -> String;

/// The chart as a PNG, for the kinds drawn as pictures (line, scatter, quadrant).
pub fn render_png(
    plot: &Plot,
    chart: &ChartSpec,
    labels: (&str, &str),
    x_format: AxisFormat<'_>,
    y_format: AxisFormat<'_>,
) -> Result<Vec<u8>, String> {
    register_font();
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        match (plot, chart.kind) {
            (Plot::Lines { days, lines }, ChartKind::Line) => {
                draw_lines(&root, days, lines, labels.1, y_format)
            }
            (Plot::Dots(dots), ChartKind::Scatter) => {
                draw_dots(&root, dots, None, labels, x_format, y_format)
            }
            (Plot::Dots(dots), ChartKind::Quadrant) => draw_dots(
                &root,
                dots,
                Some(quadrant_names(chart)),
                labels,
                x_format,
                y_format,
            ),
            // Every kind is named, so a new one does not compile until it is drawn or refused.
            (
                _,
                ChartKind::Bar
                | ChartKind::StackedBar
                | ChartKind::Line
                | ChartKind::Scatter
                | ChartKind::Quadrant,
            ) => Err(format!(
                "a {} chart is not drawn as a picture",
                chart.kind.name()
            )),
        }?;
        root.present().map_err(|e| e.to_string())?;
    }
    encode(&pixels)
}

fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", (size * SCALE) as f64)
        .into_font()
        .color(&INK)
}

/// A little room above and below the values, and 0 in view when the values are near it.
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let (lo, hi) = if lo == hi {
        (lo - lo.abs().max(1.0) * 0.5, hi + hi.abs().max(1.0) * 0.5)
    } else {
        (lo, hi)
    };
    let pad = (hi - lo) * 0.08;
    let lo = if lo >= 0.0 && lo < (hi - lo) {
        0.0
    } else {
        lo - pad
    };
    (lo, hi + pad)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

type Mesh<'m, 'a, 'b, 'c> = &'m mut plotters::chart::MeshStyle<
    'a,
    'b,
    plotters::coord::types::RangedCoordf64,
    plotters::coord::types::RangedCoordf64,
    BitMapBackend<'c>,
>;

/// The grid, labels and axes every picture shares: five value steps, light lines, grey axes.
fn house_style<'m, 'a, 'b, 'c>(mesh: Mesh<'m, 'a, 'b, 'c>) -> Mesh<'m, 'a, 'b, 'c> {
    mesh.y_labels(5)
        .label_style(font(SMALLEST_TEXT))
        .axis_desc_style(font(SMALLEST_TEXT))
        .light_line_style(RGBColor(0xf3, 0xf4, 0xf6))
        .bold_line_style(RGBColor(0xe5, 0xe7, 0xeb))
        .axis_style(FAINT)
}

fn draw_lines(
    root: &Area<'_>,
    days: &[String],
    lines: &[(String, Vec<Option<f64>>)],
    y_label: &str,
    y_format: AxisFormat<'_>,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let (lo, hi) = span(lines.iter().flat_map(|(_, v)| v.iter().flatten().copied()));
    let last = days.len().saturating_sub(1).max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .margin(10 * SCALE)
        .x_label_area_size(32 * SCALE)
        .y_label_area_size(76 * SCALE)
        .build_cartesian_2d(0.0..last, lo..hi)
        .map_err(|e| err(&e))?;
    let day_label = |x: &f64| {
        let at = x.round() as usize;
        // Dates read as month-day; anything else as it is.
        days.get(at)
            .map(|d| match d.get(5..10) {
                Some(md) if d.len() == 10 => md.to_string(),
                _ => d.clone(),
            })
            .unwrap_or_default()
    };
    house_style(&mut chart.configure_mesh())
        .disable_x_mesh()
        .x_labels(days.len().min(7))
        .x_label_formatter(&day_label)
        .y_label_formatter(&|y| y_format(*y))
        .y_desc(y_label)
        .draw()
        .map_err(|e| err(&e))?;
    for (n, (name, values)) in lines.iter().enumerate() {
        let color = PALETTE[n % PALETTE.len()];
        let style = color.stroke_width(2 * SCALE);
        // A day without a value is a gap, not a drop to zero.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![vec![]];
        for (day, value) in values.iter().enumerate() {
            match value {
                Some(v) => runs.last_mut().expect("one run").push((day as f64, *v)),
                None if !runs.last().expect("one run").is_empty() => runs.push(vec![]),
                None => {}
            }
        }
        for run in runs.iter().filter(|r| !r.is_empty()) {
            chart
                .draw_series(LineSeries::new(run.clone(), style))
                .map_err(|e| err(&e))?;
            if run.len() == 1 {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        run[0],
                        3 * SCALE,
                        color.filled(),
                    )))
                    .map_err(|e| err(&e))?;
            }
        }
        // The latest value is marked: it is the one the report is about.
        if let Some((day, value)) = values
            .iter()
            .enumerate()
            .rev()
            .find_map(|(d, v)| v.map(|v| (d as f64, v)))
        {
            chart
                .draw_series(std::iter::once(Circle::new(
                    (day, value),
                    4 * SCALE,
                    color.filled(),
                )))
                .map_err(|e| err(&e))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(
                        vec![(x, y), (x + 16 * SCALE as i32, y)],
                        color.stroke_width(2 * SCALE),
                    )
                });
        }
    }
    if lines.len() > 1 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(font(SMALLEST_TEXT))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(0xe5, 0xe7, 0xeb))
            .draw()
            .map_err(|e| err(&e))?;
    }
    Ok(())
}

/// Most dot labels shown: beyond this they overlap into noise (the table names every row).
const LABELLED_DOTS: usize = 30;

fn draw_dots(
    root: &Area<'_>,
    dots: &[Dot],
    quadrants: Option<[String; 4]>,
    (x_label, y_label): (&str, &str),
    x_format: AxisFormat<'_>,
    y_format: AxisFormat<'_>,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let (x0, x1) = span(dots.iter().map(|d| d.x));
    let (y0, y1) = span(dots.iter().map(|d| d.y));
    let mut chart = ChartBuilder::on(root)
        .margin(10 * SCALE)
        .x_label_area_size(42 * SCALE)
        .y_label_area_size(76 * SCALE)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    house_style(&mut chart.configure_mesh())
        .x_labels(6)
        .x_label_formatter(&|x| x_format(*x))
        .y_label_formatter(&|y| y_format(*y))
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(|e| err(&e))?;
    let split = quadrants.as_ref().and_then(|_| {
        let xs: Vec<f64> = dots.iter().map(|d| d.x).collect();
        let ys: Vec<f64> = dots.iter().map(|d| d.y).collect();
        Some((median(&xs)?, median(&ys)?))
    });
    if let (Some(names), Some((mx, my))) = (&quadrants, split) {
        let line = FAINT.stroke_width(SCALE);
        chart
            .draw_series([
                PathElement::new(vec![(mx, y0), (mx, y1)], line),
                PathElement::new(vec![(x0, my), (x1, my)], line),
            ])
            .map_err(|e| err(&e))?;
        // Each name sits just inside its corner, in pixels, whatever the data's scale.
        let inset = (8 * SCALE) as i32;
        let corners = [
            ((x1, y1), (-inset, inset), HPos::Right, VPos::Top),
            ((x0, y1), (inset, inset), HPos::Left, VPos::Top),
            ((x1, y0), (-inset, -inset), HPos::Right, VPos::Bottom),
            ((x0, y0), (inset, -inset), HPos::Left, VPos::Bottom),
        ];
        for (name, (at, offset, h, v)) in names.iter().zip(corners) {
            let style = font(SMALLEST_TEXT).color(&FAINT).pos(Pos::new(h, v));
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at(at) + Text::new(name.clone(), offset, style),
                ))
                .map_err(|e| err(&e))?;
        }
    }
    let color_of = |d: &Dot| match split {
        Some((mx, my)) => {
            PALETTE[match (d.x >= mx, d.y >= my) {
                (true, true) => 0,
                (false, true) => 3,
                (true, false) => 2,
                (false, false) => 1,
            }]
        }
        None => PALETTE[0],
    };
    chart
        .draw_series(dots.iter().map(|d| {
            EmptyElement::at((d.x, d.y)) + Circle::new((0, 0), 5 * SCALE, color_of(d).filled())
        }))
        .map_err(|e| err(&e))?;
    if dots.len() > LABELLED_DOTS {
        return Ok(());
    }
    // Each label goes where it overlaps no dot, no corner name and no label placed before it:
    // right of its dot, else left, above or below; a label with no free place is left out
    // (the table beside the chart names every dot).
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let mut taken: Vec<Rect> = dots
        .iter()
        .map(|d| {
            let (px, py) = chart.backend_coord(&(d.x, d.y));
            let r = (5 * SCALE) as i32;
            Rect::new(px - r, py - r, px + r, py + r)
        })
        .collect();
    let text_px = (SMALLEST_TEXT * SCALE) as i32;
    let text_width =
        |text: &str| (text.chars().count() as f64 * f64::from(text_px) * 0.56).ceil() as i32;
    if let Some(names) = &quadrants {
        // The names as drawn above: inset from the corners in the order top right, top left,
        // bottom right, bottom left.
        let inset = (8 * SCALE) as i32;
        for (name, (right, top)) in
            names
                .iter()
                .zip([(true, true), (false, true), (true, false), (false, false)])
        {
            let width = text_width(name);
            let (left, right) = if right {
                (xs.end - inset - width, xs.end - inset)
            } else {
                (xs.start + inset, xs.start + inset + width)
            };
            let (top, bottom) = if top {
                (ys.start + inset, ys.start + inset + text_px)
            } else {
                (ys.end - inset - text_px, ys.end - inset)
            };
            taken.push(Rect::new(left, top, right, bottom));
        }
    }

    let gap = (8 * SCALE) as i32;
    let corner_end = taken.len();
    for (index, d) in dots.iter().enumerate() {
        let label = clip(&d.label, 24);
        let width = text_width(&label);
        let (px, py) = chart.backend_coord(&(d.x, d.y));
        let half = text_px * 6 / 10;
        let half_gap = gap / 2;
        let places = [
            (gap, 0, HPos::Left, VPos::Center),
            (-gap, 0, HPos::Right, VPos::Center),
            (0, -gap, HPos::Center, VPos::Bottom),
            (0, gap, HPos::Center, VPos::Top),
            (half_gap, -half_gap, HPos::Left, VPos::Bottom),
            (-half_gap, -half_gap, HPos::Right, VPos::Bottom),
            (half_gap, half_gap, HPos::Left, VPos::Top),
            (-half_gap, half_gap, HPos::Right, VPos::Top),
        ]
        .map(|(dx, dy, h, v)| {
            let (x, y) = (px + dx, py + dy);
            let (left, right) = match h {
                HPos::Left => (x, x + width),
                HPos::Right => (x - width, x),
                HPos::Center => (x - width / 2, x + width / 2),
            };
            let (top, bottom) = match v {
                VPos::Top => (y, y + 2 * half),
                VPos::Bottom => (y - 2 * half, y),
                VPos::Center => (y - half, y + half),
            };
            (Rect::new(left, top, right, bottom), (dx, dy), h, v)
        });
        // Its own dot is no obstacle; the corner names are, unless nothing else is free (a dot
        // in a corner may name itself over its corner's name, which its colour repeats).
        let blocked = |rect: &Rect, names_too: bool| {
            taken.iter().enumerate().any(|(at, t)| {
                at != index
                    && (names_too || !(dots.len()..corner_end).contains(&at))
                    && t.overlaps(rect)
            })
        };
        let free = [true, false].into_iter().find_map(|names_too| {
            places
                .iter()
                .find(|(rect, ..)| rect.inside(&xs, &ys) && !blocked(rect, names_too))
                .cloned()
        });
        if let Some((rect, offset, h, v)) = free {
            taken.push(rect);
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((d.x, d.y))
                        + Text::new(label, offset, font(SMALLEST_TEXT).pos(Pos::new(h, v))),
                ))
                .map_err(|e| err(&e))?;
        }
    }
    Ok(())
}

/// A box in the picture's pixels: left, top, right, bottom.
#[derive(Debug, Clone, Copy)]
struct Rect(i32, i32, i32, i32);

impl Rect {
    fn new(left: i32, top: i32, right: i32, bottom: i32) -> Self {
        Self(left, top, right, bottom)
    }

    fn overlaps(&self, other: &Rect) -> bool {
        self.0 < other.2 && other.0 < self.2 && self.1 < other.3 && other.1 < self.3
    }

    fn inside(&self, xs: &std::ops::Range<i32>, ys: &std::ops::Range<i32>) -> bool {
        self.0 >= xs.start && self.2 <= xs.end && self.1 >= ys.start && self.3 <= ys.end
    }
}

fn encode(pixels: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use daybook_core::config::ChartSpec;

    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("one frame");
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    /// Dark pixels in a box: text drawn there.
    fn ink_in(pixels: &[u8], x: std::ops::Range<u32>, y: std::ops::Range<u32>) -> usize {
        let mut dark = 0;
        for row in y {
            for col in x.clone() {
                let at = ((row * WIDTH + col) * 3) as usize;
                if pixels[at..at + 3].iter().all(|c| *c < 160) {
                    dark += 1;
                }
            }
        }
        dark
    }

    #[test]
    fn the_font_draws_hangul_not_boxes() {
        // A missing glyph draws nothing with ab_glyph (or a box with other fonts); a real
        // glyph for 한 and for 글 is ink of different shapes.
        let mut chart = ChartSpec::bar("분류", "매출");
        chart.kind = ChartKind::Scatter;
        chart.x = Some("판매량".into());
        let draw = |label: &str| {
            let plot = Plot::Dots(vec![
                Dot {
                    label: label.into(),
                    x: 1.0,
                    y: 1.0,
                },
                Dot {
                    label: String::new(),
                    x: 3.0,
                    y: 3.0,
                },
            ]);
            let png = render_png(
                &plot,
                &chart,
                ("판매량", "매출"),
                &|v| format!("{v}"),
                &|v| format!("{v}"),
            )
            .unwrap();
            decode(&png).2
        };
        let han = draw("한한한");
        let geul = draw("글글글");
        let blank = draw("");
        let whole = (0..WIDTH, 0..HEIGHT);
        let ink = |p: &[u8]| ink_in(p, whole.0.clone(), whole.1.clone());
        assert!(ink(&han) > ink(&blank) + 100, "한 draws ink");
        assert!(ink(&geul) > ink(&blank) + 100, "글 draws ink");
        assert_ne!(han, geul, "different syllables draw differently");
    }

    #[test]
    fn a_trend_is_a_small_sharp_png() {
        let days: Vec<String> = (1..=28).map(|d| format!("2026-11-{d:02}")).collect();
        let values = (0..28).map(|d| {
            if d == 10 {
                None
            } else {
                Some(1000.0 + (d * 37 % 90) as f64)
            }
        });
        let plot = Plot::Lines {
            days,
            lines: vec![("검색 수".into(), values.collect())],
        };
        let mut chart = ChartSpec::bar("day", "queries");
        chart.kind = ChartKind::Line;
        let png = render_png(
            &plot,
            &chart,
            ("day", "Queries"),
            &|v| format!("{v}"),
            &|v| format!("{v:.0}"),
        )
        .unwrap();
        let (w, h, _) = decode(&png);
        assert_eq!((w, h), (SHOWN_WIDTH * 2, SHOWN_HEIGHT * 2));
        assert!(png.len() < 100_000, "{} bytes", png.len());
    }
}
