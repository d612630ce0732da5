//! The patients who withdrew from a zone's study, known by their withdrawal tags (keyed
//! digests of their pseudonyms, `msma_pseudo::Pseudonymiser::withdrawal_tag`): shared by
//! a writer's transforms, and kept up to date by [`crate::Zone::refresh`], so that an
//! event of theirs read after the writer learnt of the withdrawal is kept out.

use std::collections::HashSet;
use std::sync::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Default)]
pub struct Withdrawn {
    tags: RwLock<HashSet<[u8; 16]>>,
    /// How many tags there are: read without the lock, and the generation a batch of
    /// events was checked against (tags are only added).
    len: AtomicUsize,
}

impl Withdrawn {
    pub fn contains(&self, tag: &[u8; 16]) -> bool {
        !self.is_empty() && self.tags.read().expect("not poisoned").contains(tag)
    }

    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds the tags written as hex in the zone's state; a malformed one is skipped (a
    /// record is checked when it is read: see [`crate::log`]).
    pub(crate) fn extend<'a>(&self, hex_tags: impl IntoIterator<Item = &'a String>) {
        let mut tags = self.tags.write().expect("not poisoned");
        for t in hex_tags {
            let mut tag = [0u8; 16];
            if hex::decode_to_slice(t, &mut tag).is_ok() {
                tags.insert(tag);
            }
        }
        self.len.store(tags.len(), Ordering::Release);
    }
}
