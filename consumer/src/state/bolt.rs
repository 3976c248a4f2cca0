//! A read-only reader of bbolt database files: enough to look up a value
//! by a path of bucket names and a key, as containerd's metadata store
//! (`var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db`) needs.
//!
//! Plain containerd (`ctr run`, nerdctl) keeps a container's image and
//! labels only there (bucket `v1/<namespace>/containers/<id>`, key `image`,
//! sub-bucket `labels`), not in the OCI bundle; its gRPC socket is the
//! other way in.  The file is read whole, once per container looked up.
//!
//! The format (bbolt's, little-endian on the machines kestrel runs on):
//! fixed-size pages; page 0 and 1 hold the meta (the one with the higher
//! transaction id and a valid checksum is current) naming the root bucket's
//! page; a bucket is a B+tree of branch pages (key, child page) and leaf
//! pages (flags, key, value); a leaf value flagged as a bucket is a bucket
//! header (root page, sequence) followed, when the root is 0, by the
//! bucket's single page inline.  Every offset is checked against the
//! buffer and the descent is bounded, so a torn or hostile file yields
//! `None`, never a panic.

/// Page header: id u64, flags u16, count u16, overflow u32.
const PAGE_HEADER: usize = 16;
/// Branch and leaf elements are 16 bytes each.
const ELEMENT: usize = 16;
const BRANCH_PAGE: u16 = 0x01;
const LEAF_PAGE: u16 = 0x02;
const META_PAGE: u16 = 0x04;
/// Leaf element flag: the value is a sub-bucket.
const BUCKET_LEAF: u32 = 0x01;
const MAGIC: u32 = 0xED0C_DAED;
/// Deepest B+tree descent followed (bbolt trees are a few levels deep).
const MAX_DEPTH: usize = 32;
/// Most bytes of a file read.
pub const MAX_FILE: u64 = 256 << 20;

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// FNV-1a, 64 bits: the meta page's checksum.
fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A bbolt file in memory.
pub struct BoltFile<'a> {
    data: &'a [u8],
    page_size: usize,
    root: u64,
}

/// A bucket: its root page in the file, or its inline page.
#[derive(Clone, Copy)]
enum Bucket<'a> {
    Paged(u64),
    Inline(&'a [u8]),
}

/// A value found in a bucket.
enum Found<'a> {
    Value(&'a [u8]),
    Bucket(Bucket<'a>),
}

impl<'a> BoltFile<'a> {
    /// The file's current meta, if the buffer is a bbolt file.
    pub fn open(data: &'a [u8]) -> Option<BoltFile<'a>> {
        // The meta of page 0 gives the page size; page 1 starts there.
        let first = Self::meta(data, 0)?;
        let second = u32_at(data, PAGE_HEADER + 8)
            .map(|ps| ps as usize)
            .and_then(|ps| Self::meta(data, ps));
        let (page_size, root, _) = match second {
            Some(m) if m.2 > first.2 => m,
            _ => first,
        };
        Some(BoltFile {
            data,
            page_size,
            root,
        })
    }

    /// (page size, root bucket page, txid) of the meta page at `off`, if
    /// valid.
    fn meta(data: &[u8], off: usize) -> Option<(usize, u64, u64)> {
        if u16_at(data, off + 8)? & META_PAGE == 0 {
            return None;
        }
        let m = off + PAGE_HEADER;
        if u32_at(data, m)? != MAGIC || u32_at(data, m + 4)? != 2 {
            return None;
        }
        // checksum over magic..txid (56 bytes), stored after it
        if fnv1a64(data.get(m..m + 56)?) != u64_at(data, m + 56)? {
            return None;
        }
        let page_size = u32_at(data, m + 8)? as usize;
        if !(512..=(1 << 20)).contains(&page_size) {
            return None;
        }
        Some((page_size, u64_at(data, m + 16)?, u64_at(data, m + 48)?))
    }

    /// The bytes of page `id` (with its overflow pages).
    fn page(&self, id: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(id).ok()?.checked_mul(self.page_size)?;
        let overflow = u32_at(self.data, start + 12)? as usize;
        let len = overflow.checked_add(1)?.checked_mul(self.page_size)?;
        self.data.get(start..start.checked_add(len)?)
    }

    /// Looks `key` up in `bucket`.
    fn find(&self, bucket: Bucket<'a>, key: &[u8]) -> Option<Found<'a>> {
        let mut page = match bucket {
            Bucket::Paged(id) => self.page(id)?,
            Bucket::Inline(p) => p,
        };
        for _ in 0..MAX_DEPTH {
            let flags = u16_at(page, 8)?;
            let count = usize::from(u16_at(page, 10)?);
            if flags & BRANCH_PAGE != 0 {
                if matches!(bucket, Bucket::Inline(_)) {
                    return None; // inline buckets are one leaf page
                }
                // the last element whose key is <= key
                let mut child = None;
                for i in 0..count {
                    let e = PAGE_HEADER + i * ELEMENT;
                    let pos = u32_at(page, e)? as usize;
                    let ksize = u32_at(page, e + 4)? as usize;
                    let k = page.get(e + pos..e + pos + ksize)?;
                    if k > key && child.is_some() {
                        break;
                    }
                    child = Some(u64_at(page, e + 8)?);
                }
                page = self.page(child?)?;
                continue;
            }
            if flags & LEAF_PAGE == 0 {
                return None;
            }
            for i in 0..count {
                let e = PAGE_HEADER + i * ELEMENT;
                let eflags = u32_at(page, e)?;
                let pos = u32_at(page, e + 4)? as usize;
                let ksize = u32_at(page, e + 8)? as usize;
                let vsize = u32_at(page, e + 12)? as usize;
                let kstart = e.checked_add(pos)?;
                let vstart = kstart.checked_add(ksize)?;
                if page.get(kstart..vstart)? != key {
                    continue;
                }
                let value = page.get(vstart..vstart.checked_add(vsize)?)?;
                if eflags & BUCKET_LEAF == 0 {
                    return Some(Found::Value(value));
                }
                let root = u64_at(value, 0)?;
                return Some(Found::Bucket(if root == 0 {
                    Bucket::Inline(value.get(16..)?)
                } else {
                    Bucket::Paged(root)
                }));
            }
            return None;
        }
        None
    }

    /// The bucket at `path` (names from the root).
    fn bucket(&self, path: &[&[u8]]) -> Option<Bucket<'a>> {
        let mut b = Bucket::Paged(self.root);
        for name in path {
            match self.find(b, name)? {
                Found::Bucket(sub) => b = sub,
                Found::Value(_) => return None,
            }
        }
        Some(b)
    }

    /// The value of `key` in the bucket at `path`.
    pub fn get(&self, path: &[&[u8]], key: &[u8]) -> Option<&'a [u8]> {
        match self.find(self.bucket(path)?, key)? {
            Found::Value(v) => Some(v),
            Found::Bucket(_) => None,
        }
    }

    /// Whether the bucket at `path` exists.
    pub fn has_bucket(&self, path: &[&[u8]]) -> bool {
        self.bucket(path).is_some()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds bbolt files the way bbolt lays them out (for tests): page 0
    /// and 1 metas, then one leaf page per paged bucket.
    pub(crate) struct Builder {
        page_size: usize,
        pages: Vec<Vec<u8>>,
    }

    /// A leaf item: a plain value or a sub-bucket.
    pub(crate) enum Item {
        Value(Vec<u8>),
        /// A sub-bucket stored inline in its parent's leaf.
        Inline(Vec<(Vec<u8>, Item)>),
        /// A sub-bucket on its own page.
        Paged(Vec<(Vec<u8>, Item)>),
    }

    impl Builder {
        pub(crate) fn new() -> Builder {
            Builder {
                page_size: 4096,
                pages: vec![Vec::new(), Vec::new()],
            }
        }

        fn leaf(&mut self, id: u64, items: &mut [(Vec<u8>, Item)]) -> Vec<u8> {
            items.sort_by(|a, b| a.0.cmp(&b.0));
            let mut encoded = Vec::new();
            for (k, item) in items.iter() {
                let (flags, v) = match item {
                    Item::Value(v) => (0u32, v.clone()),
                    Item::Inline(sub) => {
                        let mut sub: Vec<(Vec<u8>, Item)> = sub.iter().map(clone_item).collect();
                        let mut v = vec![0u8; 16];
                        v.extend(self.leaf(0, &mut sub));
                        (BUCKET_LEAF, v)
                    }
                    Item::Paged(sub) => {
                        let mut sub: Vec<(Vec<u8>, Item)> = sub.iter().map(clone_item).collect();
                        let pid = self.add_leaf_page(&mut sub);
                        let mut v = pid.to_le_bytes().to_vec();
                        v.extend(0u64.to_le_bytes());
                        (BUCKET_LEAF, v)
                    }
                };
                encoded.push((flags, k.clone(), v));
            }
            let mut p = Vec::new();
            p.extend(id.to_le_bytes());
            p.extend(LEAF_PAGE.to_le_bytes());
            p.extend((encoded.len() as u16).to_le_bytes());
            p.extend(0u32.to_le_bytes());
            let mut data: Vec<u8> = Vec::new();
            let n = encoded.len();
            for (i, (flags, k, v)) in encoded.iter().enumerate() {
                let e = PAGE_HEADER + i * ELEMENT;
                let pos = PAGE_HEADER + n * ELEMENT + data.len() - e;
                p.extend(flags.to_le_bytes());
                p.extend((pos as u32).to_le_bytes());
                p.extend((k.len() as u32).to_le_bytes());
                p.extend((v.len() as u32).to_le_bytes());
                data.extend(k);
                data.extend(v);
            }
            p.extend(data);
            p
        }

        fn add_leaf_page(&mut self, items: &mut [(Vec<u8>, Item)]) -> u64 {
            let id = self.pages.len() as u64;
            self.pages.push(Vec::new());
            let p = self.leaf(id, items);
            assert!(p.len() <= self.page_size, "test page too big");
            self.pages[id as usize] = p;
            id
        }

        /// The file, with `root`'s items in the root bucket.
        pub(crate) fn build(mut self, mut root: Vec<(Vec<u8>, Item)>, txid: u64) -> Vec<u8> {
            let root_page = self.add_leaf_page(&mut root);
            for (i, tx) in [(0usize, txid - 1), (1, txid)] {
                let mut p = Vec::new();
                p.extend((i as u64).to_le_bytes());
                p.extend(META_PAGE.to_le_bytes());
                p.extend(0u16.to_le_bytes());
                p.extend(0u32.to_le_bytes());
                let mut m = Vec::new();
                m.extend(MAGIC.to_le_bytes());
                m.extend(2u32.to_le_bytes());
                m.extend((self.page_size as u32).to_le_bytes());
                m.extend(0u32.to_le_bytes());
                // page 0's meta names an empty tree: only page 1 (higher
                // txid) has the data, so picking the newer meta matters
                let r = if i == 1 { root_page } else { 9999 };
                m.extend(r.to_le_bytes());
                m.extend(0u64.to_le_bytes());
                m.extend(2u64.to_le_bytes());
                m.extend((self.pages.len() as u64).to_le_bytes());
                m.extend(tx.to_le_bytes());
                let sum = fnv1a64(&m);
                m.extend(sum.to_le_bytes());
                p.extend(m);
                self.pages[i] = p;
            }
            let mut out = Vec::new();
            for p in &self.pages {
                let mut p = p.clone();
                p.resize(self.page_size, 0);
                out.extend(p);
            }
            out
        }
    }

    fn clone_item(kv: &(Vec<u8>, Item)) -> (Vec<u8>, Item) {
        fn c(i: &Item) -> Item {
            match i {
                Item::Value(v) => Item::Value(v.clone()),
                Item::Inline(s) => Item::Inline(s.iter().map(clone_item).collect()),
                Item::Paged(s) => Item::Paged(s.iter().map(clone_item).collect()),
            }
        }
        (kv.0.clone(), c(&kv.1))
    }

    pub(crate) fn kv(k: &str, v: Item) -> (Vec<u8>, Item) {
        (k.as_bytes().to_vec(), v)
    }

    pub(crate) fn val(v: &str) -> Item {
        Item::Value(v.as_bytes().to_vec())
    }

    fn path<'a>(names: &[&'a str]) -> Vec<&'a [u8]> {
        names.iter().map(|n| n.as_bytes()).collect()
    }

    fn sample() -> Vec<u8> {
        Builder::new().build(
            vec![kv(
                "v1",
                Item::Paged(vec![kv(
                    "default",
                    Item::Paged(vec![kv(
                        "containers",
                        Item::Inline(vec![kv(
                            "abc",
                            Item::Inline(vec![
                                kv("image", val("docker.io/library/busybox:1")),
                                kv("labels", Item::Inline(vec![kv("nerdctl/name", val("web"))])),
                            ]),
                        )]),
                    )]),
                )]),
            )],
            7,
        )
    }

    #[test]
    fn finds_values_through_paged_and_inline_buckets() {
        let data = sample();
        let db = BoltFile::open(&data).expect("a bbolt file");
        let c = &path(&["v1", "default", "containers", "abc"]);
        assert_eq!(
            db.get(c, b"image"),
            Some(&b"docker.io/library/busybox:1"[..])
        );
        let l = &path(&["v1", "default", "containers", "abc", "labels"]);
        assert_eq!(db.get(l, b"nerdctl/name"), Some(&b"web"[..]));
        assert_eq!(db.get(c, b"nope"), None);
        assert!(db.has_bucket(c));
        assert!(!db.has_bucket(&path(&["v1", "k8s.io"])));
        // a bucket is not a value, a value is not a bucket
        assert_eq!(db.get(&path(&["v1", "default"]), b"containers"), None);
        assert!(!db.has_bucket(&path(&["v1", "default", "containers", "abc", "image"])));
    }

    #[test]
    fn a_bad_checksum_falls_back_to_the_other_meta_and_garbage_is_none() {
        let mut data = sample();
        // break page 1's meta: page 0's (older, an empty tree) is used
        data[4096 + PAGE_HEADER + 20] ^= 0xff;
        let db = BoltFile::open(&data).expect("page 0's meta");
        assert_eq!(
            db.get(&path(&["v1", "default", "containers", "abc"]), b"image"),
            None
        );
        assert!(BoltFile::open(b"not a bolt file").is_none());
        assert!(BoltFile::open(&[]).is_none());
        // every truncation of a real file is refused or read without a panic
        let good = sample();
        for len in (0..good.len()).step_by(97) {
            if let Some(db) = BoltFile::open(&good[..len]) {
                let _ = db.get(&path(&["v1", "default", "containers", "abc"]), b"image");
            }
        }
        // and so is every single-byte corruption of the data pages
        for off in (8192..good.len()).step_by(13) {
            let mut bad = good.clone();
            bad[off] ^= 0xa5;
            if let Some(db) = BoltFile::open(&bad) {
                let _ = db.get(
                    &path(&["v1", "default", "containers", "abc", "labels"]),
                    b"x",
                );
            }
        }
    }
}
