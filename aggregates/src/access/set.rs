//! [`PermSet`]: a set of one catalog's permissions, one bit per permission in the
//! catalog's sorted order. Resolution, the no-escalation invariant and the read
//! side's index all work on these sets; names are only looked up to explain.

use smallvec::SmallVec;

/// A permission of a compiled catalog, by its index in the catalog's sorted list.
pub type PermId = u16;

/// A set of permission ids. Catalogs of up to 128 permissions (every seed) keep
/// the set inline, without allocating.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct PermSet {
    words: SmallVec<[u64; 2]>,
}

impl std::fmt::Debug for PermSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl PermSet {
    /// The empty set.
    pub fn new() -> PermSet {
        PermSet::default()
    }

    /// Every id below `len`.
    pub fn full(len: usize) -> PermSet {
        let mut set = PermSet::new();
        for id in 0..len {
            set.insert(id as PermId);
        }
        set
    }

    pub fn contains(&self, id: PermId) -> bool {
        let (word, bit) = (usize::from(id) / 64, id % 64);
        self.words.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    pub fn insert(&mut self, id: PermId) {
        let (word, bit) = (usize::from(id) / 64, id % 64);
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << bit;
    }

    pub fn remove(&mut self, id: PermId) {
        let (word, bit) = (usize::from(id) / 64, id % 64);
        if let Some(w) = self.words.get_mut(word) {
            *w &= !(1 << bit);
        }
    }

    /// Adds every member of `other`.
    pub fn union_with(&mut self, other: &PermSet) {
        if self.words.len() < other.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w |= o;
        }
    }

    /// Keeps only members of `other`.
    pub fn intersect_with(&mut self, other: &PermSet) {
        for (i, w) in self.words.iter_mut().enumerate() {
            *w &= other.words.get(i).copied().unwrap_or(0);
        }
    }

    /// Removes every member of `other`.
    pub fn subtract(&mut self, other: &PermSet) {
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w &= !o;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Members in ascending order (the catalog's sorted order).
    pub fn iter(&self) -> impl Iterator<Item = PermId> + '_ {
        self.words.iter().enumerate().flat_map(|(i, w)| {
            let mut bits = *w;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let bit = bits.trailing_zeros();
                bits &= bits - 1;
                Some((i * 64) as PermId + bit as PermId)
            })
        })
    }
}

impl FromIterator<PermId> for PermSet {
    fn from_iter<I: IntoIterator<Item = PermId>>(iter: I) -> Self {
        let mut set = PermSet::new();
        for id in iter {
            set.insert(id);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_hold_ids_across_words_and_iterate_in_order() {
        let mut s: PermSet = [3, 70, 0, 129].into_iter().collect();
        assert!(s.contains(70) && s.contains(129) && !s.contains(1));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 3, 70, 129]);
        assert_eq!(s.len(), 4);
        s.remove(70);
        let other: PermSet = [0, 5].into_iter().collect();
        let mut both = s.clone();
        both.intersect_with(&other);
        assert_eq!(both.iter().collect::<Vec<_>>(), vec![0]);
        s.subtract(&other);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![3, 129]);
        s.union_with(&other);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 3, 5, 129]);
        assert!(PermSet::new().is_empty());
        assert_eq!(PermSet::full(66).len(), 66);
    }
}
