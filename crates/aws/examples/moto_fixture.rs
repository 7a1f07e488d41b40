//! Writes amiref-testkit's standard fixture as moto's `MOTO_AMIS_PATH` list.
//!
//! `cargo run -p amiref-aws --example moto_fixture -- target/moto/amis.json`; scripts/moto
//! starts the emulator with it, and tests/moto.rs runs the conformance suites against it.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: moto_fixture <output.json>");
        return ExitCode::from(2);
    };
    let json = amiref_testkit::fixture::standard().moto_amis_json();
    let text = match serde_json::to_string_pretty(&json) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("moto_fixture: cannot serialise the fixture: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(dir) = std::path::Path::new(&path).parent()
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("moto_fixture: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    match std::fs::write(&path, text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("moto_fixture: cannot write {path}: {e}");
            ExitCode::FAILURE
        }
    }
}
