use rand::Rng;

/// Search terms people type into a Korean public library's catalogue, most popular first: a
/// share in Hangul, as its readers type them, the rest in English.
pub const KEYWORDS: &[&str] = &[
    "harry potter",
    "채식주의자",
    "python programming",
    "한국사",
    "korean history",
    "소년이 온다",
    "cookbook",
    "그림책",
    "kids picture books",
    "파친코",
    "machine learning",
    "murakami",
    "travel guide japan",
    "self help",
    "climate change",
    "graphic novels",
    "world war ii",
    "mystery novels",
    "data science",
    "poetry",
    "startup",
    "meditation",
    "dinosaurs",
    "economics",
    "philosophy",
    "gardening",
    "jazz",
    "photography",
    "rust programming",
    "astronomy",
    "baking bread",
    "chess",
    "yoga",
    "architecture",
    "sci-fi classics",
    "personal finance",
    "learn spanish",
    "watercolor",
    "birds",
    "hiking",
];

/// Library branches, by the names their readers know them by.
pub const LIBRARIES: &[&str] = &[
    "서울도서관",
    "강남",
    "마포",
    "노원",
    "종로",
    "남산",
    "송파",
    "부산중앙",
    "인천",
    "대구",
    "광주",
    "대전",
    "수원",
    "전주",
];

pub const DEVICES: &[&str] = &["mobile", "desktop", "tablet", "kiosk"];

/// An index skewed toward the start, so that a few values are popular and many are rare.
pub fn skewed(rng: &mut impl Rng, len: usize) -> usize {
    let u: f64 = rng.random();
    ((u * u * u) * len as f64) as usize % len
}

/// A valid ISBN-13 from a catalogue of `catalogue` titles, popular titles more likely.
pub fn isbn13(rng: &mut impl Rng, catalogue: u64) -> String {
    let u: f64 = rng.random();
    isbn13_of_title(((u * u) * catalogue as f64) as u64)
}

/// The ISBN-13 of title number `title` of the catalogue: the shop's products use the same ones.
pub fn isbn13_of_title(title: u64) -> String {
    let body = format!("978{:09}", 89_000_000 + title);
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| (b - b'0') as u32 * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}
