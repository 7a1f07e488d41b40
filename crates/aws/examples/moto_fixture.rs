//! Writes amiref-testkit's standard fixture as moto's `MOTO_AMIS_PATH` list, plus the Amazon
//! Linux 2023 images that AWS's public SSM parameters name in moto's own data.
//!
//! `cargo run -p amiref-aws --example moto_fixture -- target/moto/amis.json`; scripts/moto
//! starts the emulator with it, and tests/integration/moto.rs runs the conformance suites against it.
//!
//! moto serves `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-<arch>` from
//! data bundled with it, whatever `MOTO_AMIS_PATH` says, but loads the images those
//! parameters name only when `MOTO_AMIS_PATH` is unset (with ~1,300 default images per
//! region, seconds per region). So the images the `x86_64` and `arm64` parameters name in
//! every region (60 for moto 5.2.5) are read from moto's package with its own python
//! (`target/moto-venv/bin/python`, or `AMIREF_MOTO_PYTHON`) and appended to the list: the
//! parameter then names an image that exists, at no start-up cost. Without moto's python the
//! fixture is written alone, and says so.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use serde_json::Value;

/// Prints, as one JSON list of `MOTO_AMIS_PATH` records, the images that moto's public
/// AL2023 kernel-default parameters name in every region moto has data for.
const AL2023_IMAGES: &str = r#"
import json
from importlib import resources
from moto.utilities.utils import load_resource
base = resources.files("moto") / "ssm" / "resources" / "ami-amazon-linux-latest"
regions = sorted(p.name.split(".json")[0] for p in base.iterdir())
found = {}
for region in regions:
    params = load_resource(f"ssm/resources/ami-amazon-linux-latest/{region}.json")
    wanted = {p["Value"] for p in params if p["Name"].endswith(
        ("/al2023-ami-kernel-default-x86_64", "/al2023-ami-kernel-default-arm64"))}
    try:
        images = load_resource(f"ec2/resources/latest_amis/{region}.json")
    except FileNotFoundError:
        images = []
    for image in images:
        if image["ami_id"] in wanted:
            found[image["ami_id"]] = image
print(json.dumps(sorted(found.values(), key=lambda i: i["ami_id"])))
"#;

/// moto's python: `AMIREF_MOTO_PYTHON`, else the venv scripts/moto installs.
fn moto_python() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AMIREF_MOTO_PYTHON") {
        return Some(PathBuf::from(path));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/moto-venv/bin/python");
    venv.exists().then_some(venv)
}

/// The AL2023 images of moto's data, or why there are none.
fn al2023_images() -> Result<Vec<Value>, String> {
    let python = moto_python().ok_or("moto's python was not found (run `scripts/moto install`)")?;
    let out = Command::new(&python)
        .args(["-c", AL2023_IMAGES])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    match serde_json::from_slice(&out.stdout) {
        Ok(Value::Array(images)) => Ok(images),
        Ok(_) => Err("moto's python printed something other than a list".to_owned()),
        Err(e) => Err(format!("moto's python printed no JSON: {e}")),
    }
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: moto_fixture <output.json>");
        return ExitCode::from(2);
    };
    let mut json = amiref_testkit::fixture::standard().moto_amis_json();
    match al2023_images() {
        Ok(images) => {
            eprintln!(
                "moto_fixture: {} Amazon Linux 2023 images named by moto's public SSM parameters added",
                images.len()
            );
            if let Value::Array(list) = &mut json {
                list.extend(images);
            }
        }
        Err(why) => {
            eprintln!("moto_fixture: without the images AWS's public AL2023 parameters name: {why}")
        }
    }
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
