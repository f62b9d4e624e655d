//! What a report is made of in the config: its sections, how their columns read, their charts.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportDefinition {
    /// Short name used in paths: `reports/<name>/dt=…/`.
    pub name: String,
    pub title: String,
    /// ISO 4217 code of the money columns (`USD`, `EUR`, `KRW`, …): its symbol and decimals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// How dates read: `en-US` (Nov 21, 2026), `en-GB` (21 Nov 2026), `de-DE` (21.11.2026),
    /// `fr-FR` (21/11/2026), `ko-KR` (2026. 11. 21.), `ja-JP` (2026/11/21); none for ISO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    pub sections: Vec<ReportSection>,
    /// What a report with problems (a failed query, an empty or flat chart, a failed or
    /// warning data-quality check) does: `warn` (the default) shows them at the top and goes
    /// to approval; `stop` fails the build step, so nothing is sent.
    #[serde(default, skip_serializing_if = "OnProblem::is_warn")]
    pub on_problem: OnProblem,
    /// The headline columns (of `headline` sections) that make the report's one-line summary,
    /// in the email's subject (`{summary}`) and at its top: each with its move against the same
    /// weekday a week before. None: the first two headline numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summary: Vec<String>,
    /// When the report is sent: `always` (the default), `problems`, or a condition on the
    /// headline numbers (`revenue.vs_week < -20% or orders < 100`). A run whose condition does
    /// not hold still builds and keeps the report, and records why nothing was sent.
    #[serde(default, skip_serializing_if = "super::SendWhen::is_always")]
    pub send_when: super::SendWhen,
}

impl ReportDefinition {
    /// Each name in `summary` is a column of a headline section: a word of its query (the
    /// build checks it against the columns the query returns).
    pub fn check_summary(&self) -> Result<(), String> {
        for name in &self.summary {
            if !self.headline_returns(name) {
                return Err(format!(
                    "report summary names {name:?}, which no headline section's query returns: name a column of a section with \"headline\": true"
                ));
            }
        }
        Ok(())
    }

    /// Each metric of `send_when` is a headline column or one of the report's counts.
    pub fn check_send_when(&self) -> Result<(), String> {
        let super::SendWhen::Condition(condition) = &self.send_when else {
            return Ok(());
        };
        for name in condition.metrics() {
            if !super::send_when::REPORT_COUNTS.contains(&name.as_str())
                && !self.headline_returns(&name)
            {
                return Err(format!(
                    "report send_when {:?} reads {name:?}, which no headline section's query returns: name a column of a section with \"headline\": true, or problems or unusual",
                    condition.text()
                ));
            }
        }
        Ok(())
    }

    /// Whether a headline section's query has `name` as a word (the build checks it against
    /// the columns the query returns).
    fn headline_returns(&self, name: &str) -> bool {
        let wanted = name.to_ascii_lowercase();
        self.sections.iter().filter(|s| s.headline).any(|s| {
            s.sql
                .to_ascii_lowercase()
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word == wanted)
        })
    }
}

/// The days of the week from Monday, as a Korean and a Japanese date name them.
const KOREAN_DAYS: [&str; 7] = ["월", "화", "수", "목", "금", "토", "일"];
const JAPANESE_DAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

/// How a report's dates read. ISO (`2026-11-21`) unless the report names a locale.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Locale {
    #[default]
    #[serde(rename = "iso")]
    Iso,
    #[serde(rename = "en-US")]
    EnUs,
    #[serde(rename = "en-GB")]
    EnGb,
    #[serde(rename = "de-DE")]
    DeDe,
    #[serde(rename = "fr-FR")]
    FrFr,
    #[serde(rename = "ko-KR")]
    KoKr,
    #[serde(rename = "ja-JP")]
    JaJp,
}

impl Locale {
    /// A date as people of the locale write it.
    pub fn date(self, date: chrono::NaiveDate) -> String {
        let pattern = match self {
            Locale::Iso => "%Y-%m-%d",
            Locale::EnUs => "%b %-d, %Y",
            Locale::EnGb => "%-d %b %Y",
            Locale::DeDe => "%d.%m.%Y",
            Locale::FrFr => "%d/%m/%Y",
            Locale::KoKr => "%Y. %-m. %-d.",
            Locale::JaJp => "%Y/%m/%d",
        };
        date.format(pattern).to_string()
    }

    /// A date with its weekday, as people of the locale write it: `Sun 2026-12-06`,
    /// `Sun, Dec 6, 2026`, `2026. 12. 6. (일)`.
    pub fn weekday_date(self, date: chrono::NaiveDate) -> String {
        use chrono::Datelike;
        let day = date.weekday().num_days_from_monday() as usize;
        let written = self.date(date);
        match self {
            Locale::KoKr => format!("{written} ({})", KOREAN_DAYS[day]),
            Locale::JaJp => format!("{written} ({})", JAPANESE_DAYS[day]),
            Locale::DeDe => format!(
                "{}, {written}",
                ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."][day]
            ),
            Locale::FrFr => format!(
                "{} {written}",
                ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."][day]
            ),
            Locale::EnUs => format!("{}, {written}", date.format("%a")),
            Locale::Iso | Locale::EnGb => format!("{} {written}", date.format("%a")),
        }
    }

    /// The weekday's name, as a sentence names it: "Sunday", "일요일".
    pub fn weekday(self, date: chrono::NaiveDate) -> String {
        use chrono::Datelike;
        let day = date.weekday().num_days_from_monday() as usize;
        match self {
            Locale::KoKr => format!("{}요일", KOREAN_DAYS[day]),
            Locale::JaJp => format!("{}曜日", JAPANESE_DAYS[day]),
            _ => date.format("%A").to_string(),
        }
    }

    /// The same, as an Excel number format.
    pub fn excel_date(self) -> &'static str {
        match self {
            Locale::Iso => "yyyy-mm-dd",
            Locale::EnUs => "mmm d, yyyy",
            Locale::EnGb => "d mmm yyyy",
            Locale::DeDe => "dd.mm.yyyy",
            Locale::FrFr => "dd/mm/yyyy",
            Locale::KoKr => "yyyy. m. d.",
            Locale::JaJp => "yyyy/mm/dd",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnProblem {
    #[default]
    Warn,
    Stop,
}

impl OnProblem {
    fn is_warn(&self) -> bool {
        *self == OnProblem::Warn
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A query over marts; `{run_date}` becomes the date literal.
    pub sql: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartSpec>,
    /// How the query's columns are shown, by column name: a label and a format. A column not
    /// listed gets its name in words (`zero_result_rate` → "Zero result rate") and a format
    /// from its values.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub columns: std::collections::BTreeMap<String, ColumnDisplay>,
    /// Run the query for the day before and the same day a week before too, and show how each
    /// number moved (rows are matched by their text columns).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compare: bool,
    /// Show the section's first row as headline numbers at the top of the email.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headline: bool,
    /// The days the section's figures read (a 30-day active-user count): while the warehouse
    /// holds fewer of them, the section says so instead of passing a short count for a real one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<SectionHistory>,
    /// Flag a number that is far from the same weekday's usual: the query runs for that
    /// weekday in each of the last `weeks` weeks too (see [`UnusualRule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusual: Option<UnusualRule>,
    /// Show the rows as a grid: one line per value of `rows`, one column per value of
    /// `columns`, `value` in the cells (a retention table: cohorts down, weeks across).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pivot: Option<PivotSpec>,
}

/// A grid of a long result: its `rows` down, its `columns` across, its `value` in the cells;
/// the result's other columns are kept beside `rows`, from each line's first row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PivotSpec {
    pub rows: String,
    pub columns: String,
    pub value: String,
}

/// When a number is unusual: outside median ± k × spread of the same weekday in the last
/// `weeks` weeks, where the spread is the median absolute deviation scaled to a standard
/// deviation (× 1.4826), and never less than 5% of the median, so a series that never moved
/// does not flag a cent. A number needs `min_weeks` of those weeks to be judged, and counts
/// under 100 (now and usually) are never flagged: they move by large shares on chance alone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnusualRule {
    #[serde(default = "UnusualRule::default_weeks")]
    pub weeks: u32,
    #[serde(default = "UnusualRule::default_k")]
    pub k: f64,
    #[serde(default = "UnusualRule::default_min_weeks")]
    pub min_weeks: u32,
}

impl Default for UnusualRule {
    fn default() -> Self {
        Self {
            weeks: Self::default_weeks(),
            k: Self::default_k(),
            min_weeks: Self::default_min_weeks(),
        }
    }
}

impl UnusualRule {
    fn default_weeks() -> u32 {
        8
    }
    fn default_k() -> f64 {
        3.0
    }
    fn default_min_weeks() -> u32 {
        4
    }

    /// What the rule asks that cannot be: weeks 2 to 52, at least 2 of them needed and no more
    /// than it reads, a k above 0.
    pub fn check(&self) -> Result<(), String> {
        let sound = (2..=52).contains(&self.weeks)
            && (2..=self.weeks).contains(&self.min_weeks)
            && self.k.is_finite()
            && self.k > 0.0;
        if !sound {
            return Err(format!(
                "unusual {{ \"weeks\": {}, \"min_weeks\": {}, \"k\": {} }}: weeks is 2 to 52, min_weeks 2 to weeks, and k a number above 0",
                self.weeks, self.min_weeks, self.k
            ));
        }
        Ok(())
    }
}

/// How many days of which table a section's figures need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionHistory {
    /// `lake.<table>` or `marts.<mart>`, counted by its `dt`.
    pub table: String,
    /// The days up to the run date it reads (2 to 366).
    pub days: u32,
}

impl SectionHistory {
    /// The table as SQL, checked: a schema the warehouse has and a plain name.
    pub fn check(&self) -> Result<&str, String> {
        let plain = |name: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        match self.table.split_once('.') {
            Some(("lake" | "marts", name)) if plain(name) && (2..=366).contains(&self.days) => {
                Ok(&self.table)
            }
            _ => Err(format!(
                "history {{ \"table\": {:?}, \"days\": {} }}: the table is lake.<table> or marts.<mart> (lower-case letters, digits, _) and the days 2 to 366",
                self.table, self.days
            )),
        }
    }
}

/// A column's label and format in the email, the text part and the workbook.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDisplay {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<ValueFormat>,
    /// Whether a rise is good news (the default) or bad (a zero-result rate, a late-delivery
    /// rate): a move is green when it is good and red when it is bad, whichever way it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub higher_is_better: Option<bool>,
    /// Personal data (a customer's email, a phone number): it stays in the lake and the
    /// warehouse, and every report shows it masked (`k•••`), the workbook too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
}

/// A private value as reports show it: its first character, then a mark, so a reader can tell
/// rows apart at a glance without learning whose they are.
pub fn masked(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Null => serde_json::Value::Null,
        serde_json::Value::String(text) => {
            let first: String = text.chars().take(1).collect();
            serde_json::Value::String(format!("{first}•••"))
        }
        _ => serde_json::Value::String("•••".into()),
    }
}

impl ReportSection {
    /// The columns marked private.
    pub fn private_columns(&self) -> impl Iterator<Item = &str> {
        self.columns
            .iter()
            .filter(|(_, display)| display.private)
            .map(|(name, _)| name.as_str())
    }

    /// What a section asks that the config cannot give: a private column drawn, a history that
    /// is no table.
    pub fn check(&self) -> Result<(), String> {
        if let Some(history) = &self.history {
            history.check()?;
        }
        if let Some(rule) = &self.unusual {
            rule.check()?;
        }
        self.check_private()
    }

    /// A chart draws its columns' values for every reader: a private one cannot be among them.
    pub fn check_private(&self) -> Result<(), String> {
        let Some(chart) = &self.chart else {
            return Ok(());
        };
        let drawn = [
            Some(&chart.category),
            Some(&chart.value),
            chart.x.as_ref(),
            chart.series.as_ref(),
        ];
        match self.private_columns().find(|private| {
            drawn
                .iter()
                .flatten()
                .any(|c| c.eq_ignore_ascii_case(private))
        }) {
            Some(private) => Err(format!(
                "column {private:?} is private, and the chart draws it for every reader: chart another column, or remove \"private\""
            )),
            None => Ok(()),
        }
    }
}

/// How a value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFormat {
    /// As it is.
    Text,
    /// A whole number with separators: 12,345.
    Count,
    /// Two decimal places with separators: 1,234.50.
    Decimal,
    /// A share (0.002) as a percentage with one decimal: 0.2%.
    Percent,
    /// The report's currency, with its decimals: $1,234.50, ₩12,345.
    Money,
    /// A date, as the query gives it (`2026-11-21`).
    Date,
}

/// A section's chart. Bar and stacked bar charts are drawn with table cells, so they show where
/// images are blocked; line, scatter and quadrant charts are pictures (PNG) with alt text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartSpec {
    #[serde(default, skip_serializing_if = "ChartKind::is_bar")]
    pub kind: ChartKind,
    /// The column naming each bar, each point of a line (a date) or each dot.
    pub category: String,
    /// The column of the numbers drawn: bar lengths, the line's height, the dots' height.
    pub value: String,
    /// Scatter and quadrant: the column of the dots' horizontal position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Stacked bar: the column naming each part of a bar. Line: one line per value of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Line: the trend's length in days, ending on the run date. The section's SQL reads
    /// `{first_date}` as the first of those days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// Quadrant: the names of the four parts, in the order top right (high x, high value),
    /// top left, bottom right, bottom left. The lines between them are the medians.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quadrants: Option<[String; 4]>,
}

impl ChartSpec {
    /// A bar chart of `value` per `category`.
    pub fn bar(category: &str, value: &str) -> Self {
        Self {
            kind: ChartKind::Bar,
            category: category.into(),
            value: value.into(),
            x: None,
            series: None,
            days: None,
            quadrants: None,
        }
    }

    /// What the chart needs that the definition does not give, in words.
    pub fn check(&self) -> Result<(), String> {
        let needs = |what: &str| Err(format!("a {} chart needs {what}", self.kind.name()));
        match self.kind {
            ChartKind::StackedBar if self.series.is_none() => {
                needs("`series`: the column naming each part of a bar")
            }
            ChartKind::Scatter | ChartKind::Quadrant if self.x.is_none() => {
                needs("`x`: the column of each dot's horizontal position")
            }
            ChartKind::Line if self.days.is_some_and(|d| !(2..=366).contains(&d)) => {
                needs("`days` between 2 and 366")
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    #[default]
    Bar,
    StackedBar,
    Line,
    Scatter,
    Quadrant,
}

impl ChartKind {
    fn is_bar(&self) -> bool {
        *self == ChartKind::Bar
    }

    pub fn name(self) -> &'static str {
        match self {
            ChartKind::Bar => "bar",
            ChartKind::StackedBar => "stacked bar",
            ChartKind::Line => "line",
            ChartKind::Scatter => "scatter",
            ChartKind::Quadrant => "quadrant",
        }
    }

    /// Whether the chart is a picture (PNG) rather than table cells.
    pub fn is_picture(self) -> bool {
        match self {
            ChartKind::Line | ChartKind::Scatter | ChartKind::Quadrant => true,
            ChartKind::Bar | ChartKind::StackedBar => false,
        }
    }
}
