//! Shards: N runs that split one INPUT between them by a keyed hash of each input path, so
//! they need no coordination and the split is the same on every machine.

use std::path::Path;

use crate::key::{Key, Purpose};

/// `--shard K/N`: this run takes the files whose keyed path id falls in shard K (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shard {
    pub k: u32,
    pub n: u32,
}

/// A shard that is not `K/N` with 1 <= K <= N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad shard {0:?}: expected K/N with 1 <= K <= N")]
pub struct BadShard(String);

impl std::str::FromStr for Shard {
    type Err = BadShard;

    fn from_str(s: &str) -> Result<Self, BadShard> {
        let bad = || BadShard(s.to_owned());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// The shard (1-based) that the input at `rel` belongs to, of `n`.
pub(super) fn shard_of(key: &Key, rel: &Path, n: u32) -> u32 {
    (key.mac_u64(Purpose::Shard, rel.as_os_str().as_encoded_bytes()) % u64::from(n)) as u32 + 1
}

/// `--shard-env VAR/N`: the shard from a 0-based index that a scheduler puts in an environment
/// variable (`JOB_COMPLETION_INDEX` in a Kubernetes Indexed Job, `SLURM_ARRAY_TASK_ID` in an
/// array started at 0), so a job manifest needs no shell to turn it into `K/N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardFromEnv {
    pub var: String,
    pub n: u32,
}

/// A shard source that is not `VAR/N` with a variable name and N >= 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad shard source {0:?}: expected VAR/N, e.g. JOB_COMPLETION_INDEX/8")]
pub struct BadShardSource(String);

/// The variable a [`ShardFromEnv`] names holds no shard index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardEnvError {
    #[error("{var} is not set")]
    Unset { var: String },
    #[error("{var}={value:?} is not a 0-based shard index below {n}")]
    NotAnIndex { var: String, value: String, n: u32 },
}

impl std::str::FromStr for ShardFromEnv {
    type Err = BadShardSource;

    fn from_str(s: &str) -> Result<Self, BadShardSource> {
        let bad = || BadShardSource(s.to_owned());
        let (var, n) = s.rsplit_once('/').ok_or_else(bad)?;
        let valid_name = var.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if !valid_name || n == 0 {
            return Err(bad());
        }
        Ok(ShardFromEnv {
            var: var.to_owned(),
            n,
        })
    }
}

impl ShardFromEnv {
    /// The shard for the variable's value (`None`: unset): index I of N is shard I+1 of N.
    pub fn resolve(&self, value: Option<&str>) -> Result<Shard, ShardEnvError> {
        let var = &self.var;
        let value = value.ok_or_else(|| ShardEnvError::Unset { var: var.clone() })?;
        match value.trim().parse::<u32>() {
            Ok(index) if index < self.n => Ok(Shard {
                k: index + 1,
                n: self.n,
            }),
            _ => Err(ShardEnvError::NotAnIndex {
                var: var.clone(),
                value: value.to_owned(),
                n: self.n,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { k: 2, n: 3 }));
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        let key = Key::from_bytes([1; 32]);
        let mut counts = [0; 3];
        for i in 0..3000 {
            counts[shard_of(&key, Path::new(&format!("p/{i}.dcm")), 3) as usize - 1] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
    }

    #[test]
    fn shard_from_env_maps_a_0_based_index() {
        let spec: ShardFromEnv = "JOB_COMPLETION_INDEX/4".parse().unwrap();
        assert_eq!(spec.var, "JOB_COMPLETION_INDEX");
        assert_eq!(spec.resolve(Some("0")), Ok(Shard { k: 1, n: 4 }));
        assert_eq!(spec.resolve(Some("3")), Ok(Shard { k: 4, n: 4 }));
        assert!(spec.resolve(Some("4")).is_err());
        assert!(spec.resolve(Some("-1")).is_err());
        assert!(spec.resolve(Some("")).is_err());
        let unset = spec.resolve(None).unwrap_err().to_string();
        assert!(unset.contains("JOB_COMPLETION_INDEX is not set"), "{unset}");
        for bad in ["/4", "VAR/0", "VAR", "1VAR/2", "A-B/2", "VAR/x"] {
            assert!(bad.parse::<ShardFromEnv>().is_err(), "{bad} accepted");
        }
    }
}
