//! What launches images besides a person: launch templates (a default and a latest
//! version) and EC2 Image Builder recipes (a parent image). DescribeImageReferences reports
//! both; `ImageGovernance::launch_template_images` reads the templates.

use amiref_core::{AccountId, AmiId, Region};

use crate::WorldError;
use crate::state::WorldData;

/// A launch template of the world: its default version, and a newer latest version when
/// the template has one that is not the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LaunchTemplate {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) owner: AccountId,
    pub(crate) default_version: u64,
    pub(crate) default_image: AmiId,
    pub(crate) latest: Option<(u64, AmiId)>,
}

impl LaunchTemplate {
    /// The versions EC2 looks at (default and latest): version, whether it is the default,
    /// the image it names.
    pub(crate) fn versions(&self) -> impl Iterator<Item = (u64, bool, &AmiId)> {
        std::iter::once((self.default_version, true, &self.default_image)).chain(
            self.latest
                .iter()
                .map(|(version, image)| (*version, false, image)),
        )
    }

    /// Whether its default or latest version names `image`.
    pub(crate) fn names(&self, image: &AmiId) -> bool {
        self.versions().any(|(_, _, i)| i == image)
    }

    /// Its ARN, as DescribeImageReferences reports it.
    pub(crate) fn arn(&self, region: &Region) -> String {
        format!(
            "arn:aws:ec2:{region}:{}:launch-template/{}",
            self.owner, self.id
        )
    }
}

/// The launch template id EC2 would have minted for a template that a world file gives no
/// id: derived from its region, owner and name (FNV-1a), so it is the same on every load
/// and adding a template does not shift the world's other minted ids.
pub(crate) fn derived_template_id(region: &Region, owner: &AccountId, name: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("{region}/{owner}/{name}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("lt-0{hash:016x}")
}

/// A launch template to put in the world ([`crate::MemoryCloudBuilder::template`]).
#[derive(Debug, Clone)]
pub struct LaunchTemplateSeed {
    pub(crate) region: Region,
    pub(crate) owner: AccountId,
    pub(crate) name: String,
    pub(crate) id: Option<String>,
    pub(crate) default_version: u64,
    pub(crate) image: AmiId,
    pub(crate) latest: Option<(u64, AmiId)>,
}

impl LaunchTemplateSeed {
    /// Template `name` of `owner` in `region`, whose default version (1) names `image`.
    pub fn new(region: Region, owner: AccountId, name: impl Into<String>, image: AmiId) -> Self {
        Self {
            region,
            owner,
            name: name.into(),
            id: None,
            default_version: 1,
            image,
            latest: None,
        }
    }

    /// Its id (`lt-` and 17 hex digits); without one it is derived from region, owner and
    /// name.
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The number of its default version (default 1).
    #[must_use]
    pub fn default_version(mut self, version: u64) -> Self {
        self.default_version = version;
        self
    }

    /// A latest version, newer than the default, naming `image`.
    #[must_use]
    pub fn latest(mut self, version: u64, image: AmiId) -> Self {
        self.latest = Some((version, image));
        self
    }
}

/// An EC2 Image Builder recipe of the world: an image recipe or a container recipe, whose
/// parent image is an image id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageRecipe {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) owner: AccountId,
    pub(crate) parent_image: AmiId,
    pub(crate) container: bool,
}

impl ImageRecipe {
    /// Its ARN, as DescribeImageReferences reports it.
    pub(crate) fn arn(&self, region: &Region) -> String {
        let kind = if self.container {
            "container-recipe"
        } else {
            "image-recipe"
        };
        format!(
            "arn:aws:imagebuilder:{region}:{}:{kind}/{}/{}",
            self.owner, self.name, self.version
        )
    }
}

/// An Image Builder recipe to put in the world ([`crate::MemoryCloudBuilder::recipe`]).
#[derive(Debug, Clone)]
pub struct RecipeSeed {
    pub(crate) region: Region,
    pub(crate) recipe: ImageRecipe,
}

impl RecipeSeed {
    /// Image recipe `name` at semantic version `version` of `owner`'s in `region`, building
    /// on `parent_image`.
    pub fn new(
        region: Region,
        owner: AccountId,
        name: impl Into<String>,
        version: impl Into<String>,
        parent_image: AmiId,
    ) -> Self {
        Self {
            region,
            recipe: ImageRecipe {
                name: name.into(),
                version: version.into(),
                owner,
                parent_image,
                container: false,
            },
        }
    }

    /// Makes it a container recipe (`imagebuilder:ContainerRecipe`).
    #[must_use]
    pub fn container(mut self, container: bool) -> Self {
        self.recipe.container = container;
        self
    }
}

/// Files a launch template, checking it: a default version naming an image of its region,
/// a latest version newer than the default, an id of EC2's form used once per region.
pub(crate) fn add_template(
    world: &mut WorldData,
    seed: LaunchTemplateSeed,
) -> Result<(), WorldError> {
    let LaunchTemplateSeed {
        region,
        owner,
        name,
        id,
        default_version,
        image,
        latest,
    } = seed;
    let field = |f: &str| format!("launch_templates[{name}].{f}");
    let state = world.regions.entry(region.clone()).or_default();
    if !state.images.contains_key(&image) {
        return Err(WorldError::invalid(
            field("image"),
            image.as_str(),
            format!("an image defined in {region}"),
        ));
    }
    if default_version == 0 {
        return Err(WorldError::invalid(
            field("default_version"),
            "0",
            "a version number from 1",
        ));
    }
    if let Some((version, _)) = &latest
        && *version <= default_version
    {
        return Err(WorldError::invalid(
            field("latest.version"),
            version.to_string(),
            format!("a version newer than the default version ({default_version})"),
        ));
    }
    let id = id.unwrap_or_else(|| derived_template_id(&region, &owner, &name));
    let well_formed = id
        .strip_prefix("lt-")
        .is_some_and(|hex| hex.len() == 17 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed {
        return Err(WorldError::invalid(
            field("id"),
            id.as_str(),
            "a launch template id: lt- and 17 hexadecimal digits",
        ));
    }
    if state
        .launch_templates
        .iter()
        .any(|t| t.id == id || (t.owner == owner && t.name == name))
    {
        return Err(WorldError::invalid(
            field("name"),
            name.as_str(),
            format!("each launch template (name and id) once per owner and region ({region})"),
        ));
    }
    state.launch_templates.push(LaunchTemplate {
        id,
        name,
        owner,
        default_version,
        default_image: image,
        latest,
    });
    Ok(())
}

/// Files an Image Builder recipe: a name and semantic version used once per owner and
/// region. Its parent image may be anyone's, or gone (a recipe keeps naming it).
pub(crate) fn add_recipe(world: &mut WorldData, seed: RecipeSeed) -> Result<(), WorldError> {
    let RecipeSeed { region, recipe } = seed;
    let field = format!("image_recipes[{}].version", recipe.name);
    let semver = recipe.version.split('.').count() == 3
        && recipe
            .version
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if !semver {
        return Err(WorldError::invalid(
            field,
            recipe.version.as_str(),
            "a semantic version major.minor.patch (Image Builder's recipe versions)",
        ));
    }
    let state = world.regions.entry(region.clone()).or_default();
    let clash = state.image_recipes.iter().any(|r| {
        r.owner == recipe.owner
            && r.name == recipe.name
            && r.version == recipe.version
            && r.container == recipe.container
    });
    if clash {
        return Err(WorldError::invalid(
            field,
            recipe.version.as_str(),
            format!("each recipe name and version once per owner and region ({region})"),
        ));
    }
    state.image_recipes.push(recipe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let region: Region = "us-east-1".parse().unwrap_or_else(|e| panic!("{e}"));
        let owner: AccountId = "123456789012".parse().unwrap_or_else(|e| panic!("{e}"));
        let a = derived_template_id(&region, &owner, "workers");
        assert_eq!(a, derived_template_id(&region, &owner, "workers"));
        assert_ne!(a, derived_template_id(&region, &owner, "workers-2"));
        assert_eq!(a.len(), "lt-".len() + 17);
    }
}
