//! The zone's index of committed events, so that an event sent again is not written
//! again. Each commit publishes a run: its events' keyed digests, sorted, in a file of
//! `_msma/dedup/` that its record names. A writer holds a Bloom filter of every run's
//! keys and, per run, every 64th key; a key the filter may hold is looked up exactly
//! with one read of 64 entries per run. Memory is about 2 bytes per committed event and
//! on-disk 24; nothing in a run names an event without the study key.

use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

/// An event's identity: the first 16 bytes of a keyed HMAC of its network and id.
pub type EventKey = [u8; 16];
/// An event's content: the first 8 bytes of a keyed HMAC of its bytes.
pub type Content = [u8; 8];

/// One committed event, as a run holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub key: EventKey,
    pub content: Content,
}

const MAGIC: &[u8; 8] = b"MSMADDX1";
const HEADER: u64 = 16;
const ENTRY: usize = 24;
/// Entries between two keys kept in memory: a lookup reads at most this many.
const FENCE: usize = 64;
/// Bloom filter bits per key (about 1% false positives with 7 probes).
const BITS_PER_KEY: usize = 10;
const PROBES: u64 = 7;

/// What the zone already holds of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    New,
    /// The same event, byte for byte.
    Duplicate,
    /// The same event id with other content.
    Conflicting,
}

impl Seen {
    fn of(held: Option<Content>, content: Content) -> Self {
        match held {
            None => Self::New,
            Some(c) if c == content => Self::Duplicate,
            Some(_) => Self::Conflicting,
        }
    }
}

/// Writes `entries` (sorted, distinct keys) as a run file: its size in bytes and its
/// SHA-256 in hex, taken as it is written.
pub(crate) fn write_run(path: &Path, entries: &[Entry]) -> Result<(u64, String)> {
    let io = |e| Error::io(path, e);
    let mut out = std::io::BufWriter::new(File::create(path).map_err(io)?);
    let mut sha = Sha256::new();
    let mut put = |bytes: &[u8]| {
        sha.update(bytes);
        out.write_all(bytes)
    };
    put(MAGIC).map_err(io)?;
    put(&(entries.len() as u64).to_le_bytes()).map_err(io)?;
    for e in entries {
        put(&e.key).map_err(io)?;
        put(&e.content).map_err(io)?;
    }
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok((HEADER + (entries.len() * ENTRY) as u64, hex::encode(sha.finalize())))
}

/// The entries of a run file's bytes (read back by a compaction, which merges runs).
pub(crate) fn parse_run(name: &str, bytes: &[u8]) -> Result<Vec<Entry>> {
    let bad = || Error::Ledger(format!("dedup run {name} is damaged"));
    let (header, body) = bytes.split_at_checked(HEADER as usize).ok_or_else(bad)?;
    let count = u64::from_le_bytes(header[8..].try_into().expect("8 bytes")) as usize;
    if &header[..8] != MAGIC || body.len() != count * ENTRY {
        return Err(bad());
    }
    Ok(body
        .chunks_exact(ENTRY)
        .map(|e| Entry {
            key: e[..16].try_into().expect("16 bytes"),
            content: e[16..].try_into().expect("8 bytes"),
        })
        .collect())
}

/// A published run, open for lookups.
struct Run {
    file: File,
    count: usize,
    /// The key of every [`FENCE`]th entry.
    fences: Vec<EventKey>,
}

impl Run {
    /// Reads the run in `file` (at `path`), handing each of its keys to `each`.
    fn open(path: &Path, file: File, mut each: impl FnMut(&EventKey)) -> Result<Self> {
        let bad = || Error::Ledger(format!("dedup run {} is damaged", path.display()));
        let mut header = [0u8; HEADER as usize];
        file.read_exact_at(&mut header, 0).map_err(|_| bad())?;
        if &header[..8] != MAGIC {
            return Err(bad());
        }
        let count = u64::from_le_bytes(header[8..].try_into().expect("8 bytes")) as usize;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len != HEADER + (count * ENTRY) as u64 {
            return Err(bad());
        }
        let mut run = Self {
            file,
            count,
            fences: Vec::new(),
        };
        let mut fences = Vec::with_capacity(count.div_ceil(FENCE));
        run.keys(|i, key| {
            if i % FENCE == 0 {
                fences.push(*key);
            }
            each(key);
        })
        .map_err(|e| Error::io(path, e))?;
        run.fences = fences;
        Ok(run)
    }

    /// Hands each key of the run, with its place, to `each`, in order.
    fn keys(&self, mut each: impl FnMut(usize, &EventKey)) -> std::io::Result<()> {
        const CHUNK: usize = FENCE * 64;
        let mut buf = vec![0u8; CHUNK * ENTRY];
        let mut done = 0;
        while done < self.count {
            let n = (self.count - done).min(CHUNK);
            self.file
                .read_exact_at(&mut buf[..n * ENTRY], HEADER + (done * ENTRY) as u64)?;
            for (i, e) in buf[..n * ENTRY].chunks_exact(ENTRY).enumerate() {
                each(done + i, &e[..16].try_into().expect("16 bytes"));
            }
            done += n;
        }
        Ok(())
    }

    fn find(&self, key: &EventKey) -> std::io::Result<Option<Content>> {
        let block = match self.fences.partition_point(|f| f <= key) {
            0 => return Ok(None),
            n => n - 1,
        };
        let first = block * FENCE;
        let n = FENCE.min(self.count - first);
        let mut buf = vec![0u8; n * ENTRY];
        self.file.read_exact_at(&mut buf, HEADER + (first * ENTRY) as u64)?;
        Ok(buf
            .chunks_exact(ENTRY)
            .find(|e| &e[..16] == key)
            .map(|e| e[16..].try_into().expect("8 bytes")))
    }
}

/// A Bloom filter over event keys, which are uniform already: the probes come from the
/// key's own bits.
struct Bloom {
    bits: Vec<u64>,
    keys: usize,
    capacity: usize,
}

impl Bloom {
    fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1 << 16);
        Self {
            bits: vec![0; (capacity * BITS_PER_KEY).div_ceil(64)],
            keys: 0,
            capacity,
        }
    }

    fn probes(&self, key: &EventKey) -> impl Iterator<Item = usize> + use<> {
        let h1 = u64::from_le_bytes(key[..8].try_into().expect("8 bytes"));
        let h2 = u64::from_le_bytes(key[8..].try_into().expect("8 bytes")) | 1;
        let m = (self.bits.len() * 64) as u64;
        (0..PROBES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % m) as usize)
    }

    fn insert(&mut self, key: &EventKey) {
        for bit in self.probes(key) {
            self.bits[bit / 64] |= 1 << (bit % 64);
        }
        self.keys += 1;
    }

    fn may_hold(&self, key: &EventKey) -> bool {
        self.probes(key).all(|bit| self.bits[bit / 64] & (1 << (bit % 64)) != 0)
    }
}

struct State {
    filter: Bloom,
    /// Each run by its path in the zone, with the local file it is read from.
    runs: Vec<(String, PathBuf, Run)>,
}

/// The zone's committed events, shared by the threads of a writer.
pub struct Index {
    state: RwLock<State>,
}

impl Default for Index {
    fn default() -> Self {
        Self {
            state: RwLock::new(State {
                filter: Bloom::new(0),
                runs: Vec::new(),
            }),
        }
    }
}

impl Index {
    /// Adds the run of a new record, published at `name`, in `file` (a local copy, at
    /// `path`). A compaction's run holds the events of the runs it `retires`: those
    /// held are dropped (the run answers for them, in one read), and when all are, the
    /// filter holds its keys already.
    pub(crate) fn add(&self, name: &str, path: PathBuf, file: File, retires: &[&str]) -> Result<()> {
        let mut state = self.state.write().expect("no panic while held");
        let State { filter, runs } = &mut *state;
        let held = |n: &&str| runs.iter().any(|(r, ..)| r == n);
        let known = !retires.is_empty() && retires.iter().all(held);
        let run = Run::open(&path, file, |k| {
            if !known {
                filter.insert(k)
            }
        })?;
        runs.retain(|(r, ..)| !retires.contains(&r.as_str()));
        runs.push((name.to_owned(), path, run));
        if filter.keys > filter.capacity {
            // Rebuilt twice as large: the false positives stay near 1%.
            let mut grown = Bloom::new(filter.keys * 2);
            for (_, path, run) in runs.iter() {
                run.keys(|_, k| grown.insert(k)).map_err(|e| Error::io(path, e))?;
            }
            *filter = grown;
        }
        Ok(())
    }

    /// The content committed under `key`, if any.
    pub fn held(&self, key: &EventKey) -> Result<Option<Content>> {
        let state = self.state.read().expect("no panic while held");
        if !state.filter.may_hold(key) {
            return Ok(None);
        }
        for (_, path, run) in state.runs.iter().rev() {
            if let Some(c) = run.find(key).map_err(|e| Error::io(path, e))? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// Runs loaded.
    pub fn runs(&self) -> usize {
        self.state.read().expect("no panic while held").runs.len()
    }
}

/// Hashes an event key by its last 8 bytes: keys are HMAC output, uniform already. Not
/// the first: the shard is chosen by the first byte, and the map tells entries apart by
/// the hash's top 7 bits, which would then take 16 values instead of 128.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // The key's bytes come after its length, which is not 16 bytes long.
        if let Ok(key) = <&EventKey>::try_from(bytes) {
            self.0 = u64::from_le_bytes(key[8..].try_into().expect("8 of 16 bytes"));
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type KeyMap<V> = HashMap<EventKey, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// The events of the commit in progress, shared by the threads that fill it, each
/// tagged with the block of events it came in.
#[derive(Default)]
pub struct Pending {
    shards: [Mutex<KeyMap<(Content, u64)>>; 16],
}

impl Pending {
    fn shard(&self, key: &EventKey) -> std::sync::MutexGuard<'_, KeyMap<(Content, u64)>> {
        self.shards[usize::from(key[0] & 15)]
            .lock()
            .expect("no panic while held")
    }

    /// What the zone and this commit hold of an event, which joins the commit (under
    /// `tag`) if new.
    pub fn admit(&self, index: &Index, entry: Entry, tag: u64) -> Result<Seen> {
        let mut shard = self.shard(&entry.key);
        if let Some((held, _)) = shard.get(&entry.key) {
            return Ok(Seen::of(Some(*held), entry.content));
        }
        let seen = Seen::of(index.held(&entry.key)?, entry.content);
        if seen == Seen::New {
            shard.insert(entry.key, (entry.content, tag));
        }
        Ok(seen)
    }

    /// Takes back the events admitted under `tag` (a block decoded again).
    pub fn forget(&self, tag: u64) {
        for shard in &self.shards {
            shard.lock().expect("no panic while held").retain(|_, (_, t)| *t != tag);
        }
    }

    /// The commit's events, sorted, leaving it empty for the next.
    pub fn take(&self) -> Vec<Entry> {
        let mut all: Vec<Entry> = (self.shards.iter())
            .flat_map(|s| {
                std::mem::take(&mut *s.lock().expect("no panic while held"))
                    .into_iter()
                    .map(|(key, (content, _))| Entry { key, content })
            })
            .collect();
        all.sort_unstable();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::hash::BuildHasher;

    #[test]
    fn keys_of_one_shard_spread_over_every_tag_of_the_map() {
        // hashbrown tells the entries of a group apart by the hash's top 7 bits.
        let tags: std::collections::HashSet<u64> = (0u32..100_000)
            .map(|i| -> EventKey { Sha256::digest(i.to_le_bytes())[..16].try_into().unwrap() })
            .filter(|key| key[0] & 15 == 0)
            .map(|key| std::hash::BuildHasherDefault::<KeyHasher>::default().hash_one(key) >> 57)
            .collect();
        assert_eq!(tags.len(), 128);
    }
}
