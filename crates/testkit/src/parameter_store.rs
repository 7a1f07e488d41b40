//! The `ParameterStore` suite: SSM parameters written with versions, refused without
//! overwrite, read back with their history, listed by path, and deleted; image parameters
//! naming the fixture's image.

use amiref_core::{Cloud, CloudErrorKind, EC2_IMAGE_DATA_TYPE, ParameterName, PutParameterRequest};

use crate::fixture::keys::MINE_X86;
use crate::report::{Failure, ensure};
use crate::{Capabilities, Fixture, Report};

/// SSM keeps this many versions of a parameter.
const KEPT_VERSIONS: usize = 100;

fn name(fixture: &Fixture, path: &str) -> Result<ParameterName, Failure> {
    ParameterName::new(format!("/{}/{path}", fixture.unique_name("ssm")))
        .map_err(|e| Failure(e.to_string()))
}

/// A `text` parameter `name` set to `value`.
fn text(name: ParameterName, value: &str, overwrite: bool) -> PutParameterRequest {
    // The request's only constructor is for an image; any id does, the value replaces it.
    let placeholder = amiref_core::AmiId::new("ami-00000000").ok();
    let mut request = match placeholder {
        Some(id) => PutParameterRequest::image(name, &id),
        None => unreachable!("ami-00000000 is an AMI id"),
    };
    request.value = value.to_owned();
    request.data_type = None;
    request.overwrite = overwrite;
    request
}

/// Runs every parameter-store check against `cloud`, seeded with `fixture`.
pub async fn run(cloud: &dyn Cloud, fixture: &Fixture, caps: &Capabilities) -> Report {
    let mut r = Report::new("parameter store");
    let region = &fixture.region;

    r.check("puts_answer_their_versions_and_keep_history", async {
        let n = name(fixture, "versions")?;
        let first = cloud
            .put_parameter(region, &text(n.clone(), "one", false))
            .await?;
        ensure!(first == 1, "a new parameter is version {first}");
        match cloud
            .put_parameter(region, &text(n.clone(), "two", false))
            .await
        {
            Err(e) if e.kind == CloudErrorKind::InvalidRequest => {}
            Err(e) => return Err(Failure(format!("refused with the wrong kind: {e}"))),
            Ok(v) => return Err(Failure(format!("written without overwrite as version {v}"))),
        }
        let second = cloud
            .put_parameter(region, &text(n.clone(), "two", true))
            .await?;
        ensure!(second == 2, "an overwrite is version {second}");
        let again = cloud
            .put_parameter(region, &text(n.clone(), "two", true))
            .await?;
        ensure!(again == 3, "the same value again is version {again}, not 3");
        let history = cloud.parameter_history(region, &n).await?;
        let seen: Vec<(i64, &str)> = history
            .iter()
            .map(|p| (p.version, p.value.as_str()))
            .collect();
        ensure!(
            seen == [(1, "one"), (2, "two"), (3, "two")],
            "the history is {seen:?}"
        );
        let got = cloud
            .get_parameters(region, std::slice::from_ref(&n))
            .await?;
        ensure!(
            got.get(&n).map(|p| p.version) == Some(3),
            "GetParameters answers {:?}",
            got.get(&n)
        );
        Ok(())
    })
    .await;

    r.check("an_image_parameter_names_an_image", async {
        let n = name(fixture, "image/x86_64")?;
        let image = fixture.id(MINE_X86)?;
        cloud
            .put_parameter(region, &PutParameterRequest::image(n.clone(), &image))
            .await?;
        let got = cloud
            .get_parameters(region, std::slice::from_ref(&n))
            .await?;
        let p = got
            .get(&n)
            .ok_or_else(|| Failure(format!("{n} is absent after the put")))?;
        ensure!(p.value == image.as_str(), "its value is {}", p.value);
        ensure!(
            p.data_type.as_deref() == Some(EC2_IMAGE_DATA_TYPE),
            "its data type is {:?}",
            p.data_type
        );
        Ok(())
    })
    .await;

    r.check("parameters_are_listed_by_path_at_any_depth", async {
        let deep = name(fixture, "tree/a/b/c")?;
        let shallow = name(fixture, "tree/d")?;
        let beside = name(fixture, "treeish/e")?;
        for n in [&deep, &shallow, &beside] {
            cloud
                .put_parameter(region, &text(n.clone(), "v", true))
                .await?;
        }
        let found = cloud
            .parameters_by_path(region, &name(fixture, "tree")?)
            .await?;
        let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
        ensure!(
            names == [deep.as_str(), shallow.as_str()],
            "the path answered {names:?}"
        );
        Ok(())
    })
    .await;

    r.check("a_deleted_parameter_is_gone_with_its_history", async {
        let n = name(fixture, "deleted")?;
        cloud
            .put_parameter(region, &text(n.clone(), "v", true))
            .await?;
        cloud.delete_parameter(region, &n).await?;
        let got = cloud
            .get_parameters(region, std::slice::from_ref(&n))
            .await?;
        ensure!(got.is_empty(), "still read: {got:?}");
        for (call, result) in [
            (
                "GetParameterHistory",
                cloud.parameter_history(region, &n).await.map(|_| ()),
            ),
            ("DeleteParameter", cloud.delete_parameter(region, &n).await),
        ] {
            match result {
                Err(e) if e.kind == CloudErrorKind::NotFound => {}
                Err(e) => return Err(Failure(format!("{call}: the wrong kind: {e}"))),
                Ok(()) => return Err(Failure(format!("{call} of a deleted parameter succeeded"))),
            }
        }
        Ok(())
    })
    .await;

    r.check_if(
        caps.image_parameter_checks,
        "image_parameter_checks",
        "an_image_parameter_naming_no_image_is_refused",
        async {
            let n = name(fixture, "no-image")?;
            let request = PutParameterRequest::image(n.clone(), &fixture.missing_image);
            match cloud.put_parameter(region, &request).await {
                Err(e) if e.kind == CloudErrorKind::InvalidRequest => {}
                Err(e) => return Err(Failure(format!("refused with the wrong kind: {e}"))),
                Ok(v) => {
                    return Err(Failure(format!(
                        "a missing image was stored as version {v}"
                    )));
                }
            }
            ensure!(
                cloud.parameter_history(region, &n).await.is_err(),
                "the refused parameter exists"
            );
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.parameter_version_limit,
        "parameter_version_limit",
        "only_the_last_hundred_versions_are_kept",
        async {
            let n = name(fixture, "many")?;
            let writes = KEPT_VERSIONS + 3;
            for i in 0..writes {
                cloud
                    .put_parameter(region, &text(n.clone(), &format!("v{i}"), true))
                    .await?;
            }
            let history = cloud.parameter_history(region, &n).await?;
            ensure!(
                history.len() == KEPT_VERSIONS,
                "{writes} writes kept {} versions",
                history.len()
            );
            let (first, last) = (history[0].version, history[KEPT_VERSIONS - 1].version);
            ensure!(
                (first, last) == (4, writes as i64),
                "kept versions {first} to {last}"
            );
            Ok(())
        },
    )
    .await;

    r
}
