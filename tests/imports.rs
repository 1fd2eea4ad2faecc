//! Imports flow one way (architecture.md, "Seams for what comes next"): http → actors → routing
//! core / store → domain. This test reads every `crate::…` and `super::…` path in the files under
//! `src/` (use lines, inline paths and `serde(with = "…")` strings alike; comments skipped) and
//! fails when a module below the actors imports from `actors`, `http`, `state` or `app`, when an
//! actor imports from `http` or `app`, or when any modules import each other in a circle.
//!
//! A module is one "unit": a top-level module under `src/` (`views`, `store`, `routing`, ...),
//! except that each child of `actors` and of `http` is its own unit (`actors::chat`,
//! `http::openapi`), since those are the seams the rule is about. Paths relative to a module
//! (`mod foo; foo::bar`) are a parent reaching its own children and are not counted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Modules below the actors: they may import each other (without circles), never the layers above.
const BELOW_ACTORS: &[&str] = &[
    "domain",
    "attachments",
    "error",
    "timefmt",
    "protocol",
    "ops",
    "metrics",
    "views",
    "routing",
    "store",
    "auth",
    "settings",
    "telemetry",
    "ticket",
    "seed",
    "web",
    "load",
];

/// What the modules below the actors must not import.
const ABOVE_ACTORS: &[&str] = &["actors", "http", "state", "app"];

/// What the actors must not import.
const ABOVE_HTTP: &[&str] = &["http", "app"];

/// Edges allowed despite the rules, each with its reason. Keep it empty.
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// One import: from which unit, to which unit, in which file.
#[derive(Debug, Clone)]
struct Edge {
    from: String,
    to: String,
    file: PathBuf,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/actors/chat/mod.rs` → `["actors", "chat"]`; `src/views.rs` → `["views"]`.
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The unit a module path belongs to; `None` for the crate root.
fn unit(path: &[String]) -> Option<String> {
    let first = path.first()?;
    if (first == "actors" || first == "http") && path.len() > 1 {
        let dir = src().join(first);
        let child = &path[1];
        if dir.join(format!("{child}.rs")).exists() || dir.join(child).join("mod.rs").exists() {
            return Some(format!("{first}::{child}"));
        }
    }
    Some(first.clone())
}

/// The file's text with `//` comments blanked (a `//` right after `:` is a URL, not a comment).
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| {
            let bytes = line.as_bytes();
            let cut = (0..bytes.len().saturating_sub(1)).find(|&i| {
                bytes[i] == b'/' && bytes[i + 1] == b'/' && (i == 0 || bytes[i - 1] != b':')
            });
            match cut {
                Some(i) => &line[..i],
                None => line,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every module path the text names through `crate::` or `super::`, resolved against `me`.
/// `super::` after a `#[cfg(test)]` is taken to sit in the file's inline test module.
fn named_paths(text: &str, me: &[String]) -> Vec<Vec<String>> {
    let tests_from = text.find("#[cfg(test)]").unwrap_or(text.len());
    let mut out = Vec::new();
    for root in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(found) = text[from..].find(root) {
            let at = from + found;
            from = at + root.len();
            if text[..at].chars().next_back().is_some_and(is_ident) {
                continue;
            }
            let mut base: Vec<String> = if root == "crate::" {
                Vec::new()
            } else if at >= tests_from {
                me.to_vec()
            } else {
                me[..me.len().saturating_sub(1)].to_vec()
            };
            let mut rest = &text[at + root.len()..];
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            let mut path = base;
            loop {
                let ident: String = rest.chars().take_while(|&c| is_ident(c)).collect();
                if ident.is_empty() {
                    break;
                }
                rest = &rest[ident.len()..];
                path.push(ident);
                match rest.strip_prefix("::") {
                    Some(r) => rest = r,
                    None => break,
                }
            }
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a, b::c}`: each item extends the path.
                let mut depth = 0;
                let end = group
                    .char_indices()
                    .find(|&(_, c)| {
                        match c {
                            '{' => depth += 1,
                            '}' if depth == 0 => return true,
                            '}' => depth -= 1,
                            _ => {}
                        }
                        false
                    })
                    .map_or(group.len(), |(i, _)| i);
                for item in group[..end].split(',') {
                    let head: String = item.trim().chars().take_while(|&c| is_ident(c)).collect();
                    let mut full = path.clone();
                    if !head.is_empty() && head != "self" {
                        full.push(head);
                    }
                    out.push(full);
                }
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Every import between two different units.
fn edges() -> Vec<Edge> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let me = module_path(&file);
        // The crate root and the binary declare modules; they import nothing by these rules.
        let Some(from) = unit(&me).filter(|u| u != "lib" && u != "main") else {
            continue;
        };
        let text = strip_comments(&fs::read_to_string(&file).unwrap());
        for path in named_paths(&text, &me) {
            if let Some(to) = unit(&path).filter(|to| *to != from) {
                out.push(Edge {
                    from: from.clone(),
                    to,
                    file: file.strip_prefix(src()).unwrap().to_path_buf(),
                });
            }
        }
    }
    out
}

fn top(unit: &str) -> &str {
    unit.split("::").next().unwrap_or(unit)
}

fn excepted(edge: &Edge) -> bool {
    EXCEPTIONS
        .iter()
        .any(|(from, to, _reason)| *from == edge.from && *to == edge.to)
}

fn violations(from_tops: &[&str], forbidden: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = edges()
        .into_iter()
        .filter(|e| from_tops.contains(&top(&e.from)) && forbidden.contains(&top(&e.to)))
        .filter(|e| !excepted(e))
        .map(|e| format!("{} imports {} (src/{})", e.from, e.to, e.file.display()))
        .collect();
    found.dedup();
    found
}

#[test]
fn the_parser_sees_use_lines_groups_and_super_paths() {
    let me = vec![
        "actors".to_string(),
        "router".to_string(),
        "ops".to_string(),
    ];
    let text = strip_comments(
        "use super::Router;\nuse crate::{http, ops::QueueLive};\n// use crate::app;\n\
         let url = \"http://x\"; crate::actors::feed::Feed::new();\n\
         #[cfg(test)]\nmod tests { use super::*; }",
    );
    let units: BTreeSet<String> = named_paths(&text, &me)
        .iter()
        .filter_map(|p| unit(p))
        .collect();
    let expected: BTreeSet<String> = ["actors::router", "actors::feed", "http", "ops"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(units, expected);
}

#[test]
fn modules_below_the_actors_import_nothing_from_actors_http_state_or_app() {
    let found = violations(BELOW_ACTORS, ABOVE_ACTORS);
    assert!(
        found.is_empty(),
        "imports that flow upwards:\n{}",
        found.join("\n")
    );
}

#[test]
fn actors_import_nothing_from_http_or_app() {
    let found = violations(&["actors"], ABOVE_HTTP);
    assert!(
        found.is_empty(),
        "actors importing the HTTP layer:\n{}",
        found.join("\n")
    );
}

#[test]
fn modules_under_src_import_each_other_without_circles() {
    let all = edges();
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in all.iter().filter(|e| !excepted(e)) {
        graph.entry(&e.from).or_default().insert(&e.to);
    }
    // Depth-first search; a node met again while still on the stack closes a circle.
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(i) = stack.iter().position(|n| *n == node) {
            let mut circle = stack[i..].to_vec();
            circle.push(node);
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, stack, done) {
                return Some(circle);
            }
        }
        stack.pop();
        done.insert(node);
        None
    }
    let (mut stack, mut done) = (Vec::new(), BTreeSet::new());
    for node in graph.keys() {
        if let Some(circle) = visit(node, &graph, &mut stack, &mut done) {
            let files: Vec<String> = circle
                .windows(2)
                .map(|pair| {
                    let by: BTreeSet<String> = all
                        .iter()
                        .filter(|e| e.from == pair[0] && e.to == pair[1])
                        .map(|e| format!("src/{}", e.file.display()))
                        .collect();
                    let by: Vec<String> = by.into_iter().collect();
                    format!("{} → {} ({})", pair[0], pair[1], by.join(", "))
                })
                .collect();
            panic!(
                "modules import each other in a circle:\n{}",
                files.join("\n")
            );
        }
    }
}
