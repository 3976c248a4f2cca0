//! A fast hasher for the state's tables keyed by kernel ids (tids, pids,
//! fds).
//!
//! The standard library's SipHash costs about 100 instructions per lookup,
//! and the state makes several lookups per event (the thread, its process,
//! the fd), which made hashing a fifth of the state's cost.  Keys here are
//! small integers the kernel hands out, so one multiply by an odd constant
//! (as in rustc's FxHash) spreads them well; the final fold mixes the
//! product's high half, which depends on every bit of the key, into the
//! low bits the table indexes with, so keys that differ only in high bits
//! (fds a process chose with dup2) do not all land in one bucket, while
//! consecutive ids (tids) still spread evenly.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A hash map keyed by a kernel id.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;
/// A hash set of kernel ids.
pub type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

/// The multiplier (2^64 / golden ratio, odd).
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// Multiply-rotate hasher for integer keys (see the module doc).
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher {
    hash: u64,
}

impl IdHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Not used by integer keys; correct for any other.
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.add(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_i32(&mut self, i: i32) {
        self.add(u64::from(i as u32));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash ^ (self.hash >> 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn hash<T: std::hash::Hash>(v: T) -> u64 {
        BuildHasherDefault::<IdHasher>::default().hash_one(v)
    }

    #[test]
    fn ids_that_differ_only_in_high_bits_spread_over_low_bits() {
        // fds 0, 4096, 8192, ... (as dup2 could choose): their hashes
        // must not share their low bits, which pick the bucket.
        let mut low: HashSet<u64> = HashSet::new();
        for k in 0..256i32 {
            low.insert(hash(k << 12) & 0xff);
        }
        assert!(low.len() > 128, "only {} distinct buckets", low.len());
        // Sequential tids too.
        let mut low: HashSet<u64> = HashSet::new();
        for tid in 1000..1256u32 {
            low.insert(hash(tid) & 0xff);
        }
        assert!(low.len() > 128, "only {} distinct buckets", low.len());
    }

    #[test]
    fn maps_keyed_by_ids_behave_as_maps() {
        let mut m: IdMap<u32, u32> = IdMap::default();
        for k in 0..10_000u32 {
            m.insert(k.wrapping_mul(7919), k);
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.get(&(42 * 7919)), Some(&42));
        assert_eq!(m.remove(&(9_999 * 7919)), Some(9_999));
        assert!(!m.contains_key(&(9_999 * 7919)));
        assert_ne!(hash("abc"), hash("abd"), "byte keys hash by content");
    }
}
