//! The data directory: what lives where, opening the store and the KEK, and creating a new
//! directory atomically.
//!
//! ```text
//! DATA_DIR/
//!   castellan.toml            configuration (mode 0600: it may hold a database password)
//!   castellan.db              SQLite database (WAL) unless database_url is set
//!   kek                       key-encryption key, base64 (mode 0600) unless CASTELLAN_KEK is set
//!   profiles/*.toml           certificate profiles
//!   initial-admin-password    only when `serve` created the directory (mode 0600)
//! ```
//!
//! A new directory is built under a temporary sibling name and renamed into place when
//! complete, with the configuration file written last: an interrupted `init` leaves no
//! half-made data directory behind.

use crate::config::{CONFIG_FILE, Config};
use anyhow::{Context, Result, bail};
use castellan_pki::kek::Kek;
use castellan_pki::profile::{DEFAULT_PROFILES, ProfileSet};
use castellan_store::{SqliteSync, Store};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The SQLite database file name.
pub const DATABASE_FILE: &str = "castellan.db";
/// Where `serve` writes the generated first password.
pub const INITIAL_PASSWORD_FILE: &str = "initial-admin-password";
/// The environment variable that carries the KEK (base64), overriding the file.
pub const KEK_ENV: &str = "CASTELLAN_KEK";

/// What state a data directory is in.
pub enum DirState {
    /// It holds a configuration: initialised (or at least configured).
    Configured,
    /// It does not exist, or is empty.
    Fresh,
    /// It exists with other files but no configuration: not ours to touch.
    Foreign(Vec<String>),
}

/// Looks at `dir`.
pub fn state(dir: &Path) -> Result<DirState> {
    if dir.join(CONFIG_FILE).exists() {
        return Ok(DirState::Configured);
    }
    if !dir.exists() {
        return Ok(DirState::Fresh);
    }
    let entries: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if entries.is_empty() {
        Ok(DirState::Fresh)
    } else {
        Ok(DirState::Foreign(entries))
    }
}

/// Writes `contents` to `path` with mode 0600 (owner only), refusing to overwrite.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Where the KEK comes from.
pub fn kek_source(config: &Config, dir: &Path) -> String {
    if std::env::var_os(KEK_ENV).is_some() {
        KEK_ENV.to_owned()
    } else {
        config.path_in(dir, &config.kek_file).display().to_string()
    }
}

/// Loads the KEK: `CASTELLAN_KEK` if set, else the configured file.
pub fn load_kek(config: &Config, dir: &Path) -> Result<Kek> {
    if let Ok(text) = std::env::var(KEK_ENV) {
        return Kek::from_base64(&text)
            .with_context(|| format!("{KEK_ENV} is not a valid key-encryption key"));
    }
    let path = config.path_in(dir, &config.kek_file);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the key-encryption key {} ({e}); restore it from your backup or set {KEK_ENV}. \
             Castellan will not create a new CA over an existing one",
            path.display()
        )
    })?;
    Kek::from_base64(&text)
        .with_context(|| format!("{} is not a valid key-encryption key", path.display()))
}

/// Opens the store the configuration names.
pub async fn open_store(config: &Config, dir: &Path, create: bool) -> Result<Store> {
    if config.database_url.is_empty() {
        let sync = match config.sqlite_synchronous.as_str() {
            "normal" => SqliteSync::Normal,
            _ => SqliteSync::Full,
        };
        let path = dir.join(DATABASE_FILE);
        let store = Store::open_sqlite(&path, create, sync).await.map_err(|e| {
            if !create && !path.exists() {
                anyhow::anyhow!(
                    "the database {} is missing: the data directory holds a configuration but no \
                     database. Restore it from your backup, or initialise a new data directory",
                    path.display()
                )
            } else {
                anyhow::anyhow!(e)
            }
        })?;
        keep_private(&path);
        Ok(store)
    } else {
        Ok(Store::open(&config.database_url).await?)
    }
}

/// Makes the SQLite database and its write-ahead files readable by their owner alone (the
/// data directory is already 0700; this also covers a database copied in with looser
/// modes). SQLite gives new `-wal` and `-shm` files the database file's mode. A failure (a
/// read-only mount, another owner) is logged, not fatal.
fn keep_private(database: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let mut name = database.as_os_str().to_owned();
            name.push(suffix);
            let file = std::path::PathBuf::from(name);
            if !file.exists() {
                continue;
            }
            if let Err(e) = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
            {
                tracing::warn!(file = %file.display(), error = %e, "cannot make the database file private");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = database;
}

/// Loads the certificate profiles from the configured folder.
pub fn load_profiles(config: &Config, dir: &Path) -> Result<ProfileSet> {
    let path = config.path_in(dir, &config.profiles_dir);
    Ok(ProfileSet::load_dir(&path)?)
}

/// A data directory being built; renamed into place by [`Staging::finish`], removed if
/// dropped before.
pub struct Staging {
    target: PathBuf,
    path: PathBuf,
    finished: bool,
}

impl Staging {
    /// Starts building `target` (which must not exist, or be empty).
    pub fn new(target: &Path) -> Result<Staging> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "data".into());
        let path = parent.join(format!(".{name}.init-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("cannot clear {}", path.display()))?;
        }
        std::fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Staging {
            target: target.to_path_buf(),
            path,
            finished: false,
        })
    }

    /// The directory being built.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the shipped profiles.
    pub fn write_profiles(&self, config: &Config) -> Result<()> {
        let dir = config.path_in(&self.path, &config.profiles_dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        for (file, text) in DEFAULT_PROFILES {
            std::fs::write(dir.join(file), text).with_context(|| format!("cannot write {file}"))?;
        }
        Ok(())
    }

    /// Writes the configuration (last) and moves the directory into place.
    pub fn finish(mut self, config_text: &str) -> Result<()> {
        write_private(&self.path.join(CONFIG_FILE), config_text.as_bytes())?;
        if self.target.exists() {
            // Only an empty directory gets here (see `state`).
            std::fs::remove_dir(&self.target).with_context(|| {
                format!(
                    "cannot replace the empty directory {}",
                    self.target.display()
                )
            })?;
        }
        std::fs::rename(&self.path, &self.target).with_context(|| {
            format!(
                "cannot move {} to {}",
                self.path.display(),
                self.target.display()
            )
        })?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Refuses to initialise over something that is already there.
pub fn ensure_fresh(dir: &Path) -> Result<()> {
    match state(dir)? {
        DirState::Fresh => Ok(()),
        DirState::Configured => bail!(
            "{} is already initialised ({} exists); nothing was changed. To start over, choose \
             another --data-dir",
            dir.display(),
            dir.join(CONFIG_FILE).display()
        ),
        DirState::Foreign(entries) => bail!(
            "{} is not empty ({}) and holds no {CONFIG_FILE}; refusing to initialise over existing \
             files. Choose an empty or new --data-dir",
            dir.display(),
            entries.join(", ")
        ),
    }
}
