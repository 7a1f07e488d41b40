//! Finding templates by name or path.

use std::path::{Path, PathBuf};

use amiref_template::Template;

use crate::SessionError;

/// The directories templates are looked up in, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateLibrary {
    dirs: Vec<PathBuf>,
}

impl TemplateLibrary {
    /// A library over these directories, searched in order.
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        Self { dirs }
    }

    /// The directories.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The file `name` refers to: an existing file path, else `<name>.yml` or
    /// `<name>.yaml` in the first directory that has one.
    pub fn find(&self, name: &str) -> Result<PathBuf, SessionError> {
        let direct = Path::new(name);
        if direct.is_file() {
            return Ok(direct.to_owned());
        }
        self.in_dirs(name)
    }

    /// Loads and validates the template `name` refers to.
    pub fn load(&self, name: &str) -> Result<Template, SessionError> {
        Ok(Template::load_file(self.find(name)?)?)
    }

    /// The file of the template named `name` in the library, never a path: what a service
    /// uses for a name a request gives, so that no request reads a file of its choosing.
    /// A name is refused unless it is letters, digits, `-`, `_` and `.` (not leading).
    pub fn find_named(&self, name: &str) -> Result<PathBuf, SessionError> {
        let valid = !name.is_empty()
            && name.len() <= 128
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !valid {
            return Err(SessionError::InvalidInput {
                field: "template".into(),
                found: name.chars().take(128).collect(),
                expected: "a template name: 1 to 128 letters, digits, '-', '_' or '.', not starting with '.'".into(),
            });
        }
        self.in_dirs(name)
    }

    /// `<name>.yml` or `<name>.yaml` in the first directory that has one.
    fn in_dirs(&self, name: &str) -> Result<PathBuf, SessionError> {
        self.dirs
            .iter()
            .flat_map(|dir| ["yml", "yaml"].map(|ext| dir.join(format!("{name}.{ext}"))))
            .find(|p| p.is_file())
            .ok_or_else(|| SessionError::TemplateNotFound {
                name: name.to_owned(),
                searched: self.dirs.clone(),
            })
    }

    /// Loads and validates the template named `name` in the library (see
    /// [`TemplateLibrary::find_named`]).
    pub fn load_named(&self, name: &str) -> Result<Template, SessionError> {
        Ok(Template::load_file(self.find_named(name)?)?)
    }

    /// Every template of every directory (a name found twice: the first directory wins),
    /// with its file, or the problems of the files that are not valid.
    pub fn all(&self) -> Result<Vec<(Template, PathBuf)>, SessionError> {
        let mut found: Vec<(Template, PathBuf)> = Vec::new();
        for dir in self.dirs.iter().filter(|d| d.is_dir()) {
            let set = amiref_template::TemplateSet::load_dir(dir)?;
            for template in set.iter() {
                if !found.iter().any(|(t, _)| t.name == template.name) {
                    let path = set.source(&template.name).unwrap_or(dir).to_owned();
                    found.push((template.clone(), path));
                }
            }
        }
        found.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_template_is_never_a_path() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/templates");
        let library = TemplateLibrary::new(vec![dir.clone()]);
        assert!(library.load_named("python-ml").is_ok());
        let file = dir.join("python-ml.yml").display().to_string();
        assert!(library.load(&file).is_ok());
        for bad in [
            file.as_str(),
            "../templates/python-ml",
            ".hidden",
            "",
            "a/b",
        ] {
            let err = library.load_named(bad).expect_err(bad);
            assert!(
                matches!(err, SessionError::InvalidInput { .. }),
                "{bad}: {err}"
            );
        }
        assert!(matches!(
            library.load_named("nope"),
            Err(SessionError::TemplateNotFound { .. })
        ));
    }
}
