//! The workspace's modules import downward only: within every crate, no two modules of one
//! parent import each other, directly or around a circle; the report crate keeps its layers
//! (model, renderers, artifacts, approval, then build and send); and no source file is over
//! 600 lines. Read from the sources (`crate::…`, `super::…` paths), as a newcomer reads them.
//! Test modules are left out: a test may reach anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModulePath = Vec<String>;

/// A crate's modules by path (`["steps", "start"]`), each with its file's text, test blocks
/// cut off.
fn modules(src: &Path) -> BTreeMap<ModulePath, String> {
    let mut out = BTreeMap::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).unwrap().with_extension("");
        let mut path: ModulePath = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(
            path.last().map(String::as_str),
            Some("lib" | "main" | "mod")
        ) {
            path.pop();
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = without_test_block(&text);
        out.insert(path, without_comments(&code));
    }
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The file without its `#[cfg(test)] mod tests { … }` block (braces counted; format strings
/// hold theirs in pairs), so that code after the block is still read.
fn without_test_block(text: &str) -> String {
    let Some(at) = text.find("#[cfg(test)]\nmod tests {") else {
        return text.to_string();
    };
    let mut depth = 0usize;
    let mut end = text.len();
    for (offset, c) in text[at..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = at + offset + 1;
                    break;
                }
            }
            _ => {}
        }
    }
    format!("{}{}", &text[..at], &text[end..])
}

fn without_comments(code: &str) -> String {
    code.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_test(path: &[String]) -> bool {
    path.iter().any(|p| p == "tests" || p.ends_with("_tests"))
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths `code` names after `crate::` or `super::` (a `use` group's members each), as
/// absolute module paths of the crate, `module` being the file's own.
fn referenced_paths(module: &[String], code: &str) -> Vec<ModulePath> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        let starts_word = at == 0 || !ident_char(bytes[at - 1] as char);
        let (mut base, mut cursor) = if starts_word && rest.starts_with("crate::") {
            (Vec::new(), at + "crate::".len())
        } else if starts_word && rest.starts_with("super::") {
            let mut cursor = at;
            let mut base = module.to_vec();
            while code[cursor..].starts_with("super::") {
                base.pop();
                cursor += "super::".len();
            }
            (base, cursor)
        } else {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        // The path's identifiers, then a group `{a, b::c}` if the path ends in one.
        loop {
            let ident: String = code[cursor..]
                .chars()
                .take_while(|c| ident_char(*c))
                .collect();
            if ident.is_empty() {
                break;
            }
            cursor += ident.len();
            base.push(ident);
            if code[cursor..].starts_with("::") {
                cursor += 2;
            } else {
                break;
            }
        }
        if code[cursor..].starts_with('{') {
            let end = code[cursor..].find('}').map_or(code.len(), |e| cursor + e);
            for member in code[cursor + 1..end].split(',') {
                let mut path = base.clone();
                path.extend(
                    member
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .split("::")
                        .filter(|p| !p.is_empty() && *p != "self")
                        .map(str::to_string),
                );
                out.push(path);
            }
            cursor = end;
        }
        out.push(base);
        at = cursor.max(at + 1);
    }
    out
}

/// Edges between sibling modules: `a::b` naming `a::c::d` is `a::b → a::c`. A module naming its
/// own ancestor or descendant is no edge (a parent declares and re-exports its children).
fn sibling_edges(
    modules: &BTreeMap<ModulePath, String>,
) -> BTreeMap<ModulePath, BTreeSet<ModulePath>> {
    let mut edges: BTreeMap<ModulePath, BTreeSet<ModulePath>> = BTreeMap::new();
    for (module, code) in modules {
        if is_test(module) {
            continue;
        }
        for path in referenced_paths(module, code) {
            let Some(target) = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains_key(p))
            else {
                continue;
            };
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == module.len() || common == target.len() {
                continue;
            }
            let (from, to) = (module[..=common].to_vec(), target[..=common].to_vec());
            if !is_test(&from) && !is_test(&to) {
                edges.entry(from).or_default().insert(to);
            }
        }
    }
    edges
}

/// The groups of modules that import each other around a circle (Tarjan's components of more
/// than one module).
fn circles(edges: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&ModulePath> = edges.keys().chain(edges.values().flatten()).collect();
    let reach = |from: &ModulePath| -> BTreeSet<ModulePath> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(node) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&ModulePath, BTreeSet<ModulePath>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for node in &nodes {
        let group: Vec<String> = nodes
            .iter()
            .filter(|other| reachable[node].contains(**other) && reachable[**other].contains(*node))
            .map(|m| m.join("::"))
            .collect();
        if group.len() > 1 {
            found.insert(group);
        }
    }
    found.into_iter().collect()
}

fn crate_sources() -> Vec<(String, PathBuf)> {
    let root = daybook_tests::workspace_root();
    let mut out = Vec::new();
    for folder in ["crates", "functions"] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let src = entry.unwrap().path().join("src");
            if src.is_dir() {
                let name = src.parent().unwrap().file_name().unwrap();
                out.push((name.to_string_lossy().into_owned(), src));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn no_two_modules_of_a_crate_import_each_other() {
    let mut found = Vec::new();
    for (name, src) in crate_sources() {
        for circle in circles(&sibling_edges(&modules(&src))) {
            found.push(format!("{name}: {}", circle.join(" ↔ ")));
        }
    }
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

/// Every import between the top modules of `src` goes from a later layer to an earlier one.
fn imports_against(src: &Path, layers: &[&[&str]]) -> Vec<String> {
    let edges = sibling_edges(&modules(src));
    let layer_of = |m: &str| layers.iter().position(|l| l.contains(&m));
    let mut wrong = Vec::new();
    for (from, targets) in &edges {
        if from.len() != 1 {
            continue;
        }
        for to in targets {
            match (layer_of(&from[0]), layer_of(&to[0])) {
                (Some(a), Some(b)) if b < a => {}
                _ => wrong.push(format!("{} → {}", from[0], to[0])),
            }
        }
    }
    wrong
}

#[test]
fn the_report_crate_imports_downward_through_its_layers() {
    let src = daybook_tests::workspace_root().join("crates/report/src");
    // Each layer may import only the layers before it in this list.
    let layers: &[&[&str]] = &[
        &["signed_link"],
        &["model"],
        &["render"],
        &["artifacts", "file_links"],
        &["deliver"],
        &["approval", "search"],
        &["build", "send"],
    ];
    let wrong = imports_against(&src, layers);
    assert!(
        wrong.is_empty(),
        "imports against the report's layers (or from a module no layer names):\n{}",
        wrong.join("\n")
    );
    // The mutation the test exists for: approval reaching into the send step.
    let mut mutated = modules(&src);
    mutated
        .get_mut(&vec!["approval".to_string(), "site".to_string()])
        .unwrap()
        .push_str("\nuse crate::send::SendInput;\n");
    let edges = sibling_edges(&mutated);
    assert!(edges[&vec!["approval".to_string()]].contains(&vec!["send".to_string()]));
}

#[test]
fn the_local_crate_keeps_adapters_below_services_below_the_demo() {
    let src = daybook_tests::workspace_root().join("crates/local/src");
    let wrong = imports_against(&src, &[&["adapters"], &["services"], &["demo"]]);
    assert!(
        wrong.is_empty(),
        "imports against the local crate's layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_source_file_is_over_600_lines() {
    let root = daybook_tests::workspace_root();
    let mut long = Vec::new();
    for folder in ["crates", "functions", "tests"] {
        for file in rust_files(&root.join(folder)) {
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            if lines > 600 {
                long.push(format!(
                    "{} ({lines})",
                    file.strip_prefix(&root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over 600 lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn a_circle_is_found_where_two_siblings_name_each_other() {
    let modules: BTreeMap<ModulePath, String> = [
        (vec![], String::new()),
        (vec!["a".into()], "use crate::b::Thing;".into()),
        (vec!["b".into()], "fn f() { super::a::g() }".into()),
        (vec!["c".into()], "use crate::{a, b::Other};".into()),
    ]
    .into_iter()
    .collect();
    assert_eq!(circles(&sibling_edges(&modules)), [vec!["a", "b"]]);
}
