//! Embeds the example organisation (`examples/acme`: its governance file and Cedar policies) for
//! `warden init --example`.
//!
//! The policy files are listed at build time rather than by hand, so that a policy added to the
//! example is shipped without touching the CLI. The generated file is a table of
//! `(relative path, include_str!(…))` pairs; a missing example yields an empty table and
//! `warden init --example` then says this build carries none.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let example = manifest.join("../../examples/acme");
    println!("cargo:rerun-if-changed={}", example.display());

    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let governance = example.join("warden.yaml");
    if governance.is_file() {
        files.push(("warden.yaml".to_owned(), governance));
        let mut policies: Vec<PathBuf> = fs::read_dir(example.join("policies"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "cedar"))
            .collect();
        policies.sort();
        for path in policies {
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                files.push((format!("policies/{name}"), path.clone()));
            }
        }
    } else {
        println!("cargo:warning=examples/acme/warden.yaml is missing; `warden init --example` will be unavailable");
    }

    let mut code = String::from(
        "/// The example organisation: paths relative to the governance file's folder, and contents.\n\
         pub const EXAMPLE_FILES: &[(&str, &str)] = &[\n",
    );
    for (relative, path) in &files {
        let absolute = fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        let _ = writeln!(
            code,
            "    ({relative:?}, include_str!({:?})),",
            absolute.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default()).join("example.rs");
    if let Err(e) = fs::write(&out, code) {
        println!(
            "cargo:warning=cannot write {}: {e}",
            Path::new(&out).display()
        );
    }
}
