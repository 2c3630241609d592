//! The view, iterator and builder plumbing the two lookup codecs share,
//! as macros that generate it for each codec's own public types (so the
//! types, their methods and their documentation stay per method).
//!
//! - [`index_iter!`]: an index-based iterator over a `Copy` view.
//! - [`directory_view!`]: `len` / `is_empty` / indexed access / `get` /
//!   iteration of a view over a lookup [`Directory`](super::directory::Directory).
//! - [`response_view!`]: a whole response view (decode, generation, items,
//!   owned copy) over a [`directory_view!`].
//! - [`item_labels!`]: the label and raw-bytes accessors of an item view.
//! - [`response_builder!`]: the budget, state and finish methods every
//!   response builder delegates to its
//!   [`ResponseCore`](super::response::ResponseCore).

/// Defines an index-based iterator over a `Copy` view: `$view` must have a
/// `len()` and an infallible `$at(i)` accessor for `i < len()`.
macro_rules! index_iter {
    ($(#[$meta:meta])* $name:ident, $view:ident, $item:ty, $at:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name<'a> {
            view: $view<'a>,
            next: usize,
            end: usize,
        }

        impl<'a> $name<'a> {
            #[inline]
            fn new(view: $view<'a>) -> Self {
                let end = view.len();
                $name { view, next: 0, end }
            }
        }

        impl<'a> Iterator for $name<'a> {
            type Item = $item;

            #[inline]
            fn next(&mut self) -> Option<$item> {
                if self.next >= self.end {
                    return None;
                }
                let v = self.view.$at(self.next);
                self.next += 1;
                Some(v)
            }

            #[inline]
            fn size_hint(&self) -> (usize, Option<usize>) {
                let n = self.end - self.next;
                (n, Some(n))
            }
        }

        impl<'a> DoubleEndedIterator for $name<'a> {
            #[inline]
            fn next_back(&mut self) -> Option<$item> {
                if self.next >= self.end {
                    return None;
                }
                self.end -= 1;
                Some(self.view.$at(self.end))
            }
        }

        impl<'a> ExactSizeIterator for $name<'a> {}
        impl<'a> core::iter::FusedIterator for $name<'a> {}
    };
}
pub(crate) use index_iter;

/// Implements the indexed accessors of a view with a `dir: Directory<'a>`
/// field and an infallible `$at(i)` for `i < len()`: `len`, `is_empty`,
/// `$one(i)` (panics out of range), `get(i)`, `$iter_fn()` returning the
/// iterator `$iter` (defined here with [`index_iter!`]) and
/// `IntoIterator`. Each method's documentation is given by the caller.
macro_rules! directory_view {
    (
        $view:ident => $iter:ident, $item:ty, $at:ident;
        $(#[$len_doc:meta])* len;
        $(#[$empty_doc:meta])* is_empty;
        $(#[$one_doc:meta])* $one:ident, $panic:literal;
        $(#[$get_doc:meta])* get;
        $(#[$iter_fn_doc:meta])* $iter_fn:ident;
        $(#[$iter_doc:meta])* iterator;
    ) => {
        impl<'a> $view<'a> {
            $(#[$len_doc])*
            #[inline]
            pub fn len(&self) -> usize {
                self.dir.count()
            }

            $(#[$empty_doc])*
            #[inline]
            pub fn is_empty(&self) -> bool {
                self.dir.count() == 0
            }

            $(#[$one_doc])*
            #[inline]
            pub fn $one(&self, i: usize) -> $item {
                assert!(i < self.len(), $panic);
                self.$at(i)
            }

            $(#[$get_doc])*
            #[inline]
            pub fn get(&self, i: usize) -> Option<$item> {
                (i < self.len()).then(|| self.$at(i))
            }

            $(#[$iter_fn_doc])*
            #[inline]
            pub fn $iter_fn(&self) -> $iter<'a> {
                $iter::new(*self)
            }
        }

        $crate::codec::lookup::index_iter!($(#[$iter_doc])* $iter, $view, $item, $at);

        impl<'a> IntoIterator for $view<'a> {
            type Item = $item;
            type IntoIter = $iter<'a>;

            fn into_iter(self) -> Self::IntoIter {
                self.$iter_fn()
            }
        }
    };
}
pub(crate) use directory_view;

/// Defines a response view `$view` (documented by the caller, as is its
/// `decode`): decoding validates the header, the directory and every item
/// with `$item_view::check` (items at least `$item_hdr` bytes);
/// items are re-read with `$item_view::parse_trusted`. With the item
/// iterator `$iter` and `to_owned` into `$owned { generation, items }`.
macro_rules! response_view {
    (
        $(#[$meta:meta])*
        pub struct $view:ident;
        $(#[$decode_doc:meta])*
        decode($resp_what:expr, $item_hdr:expr, $item_what:expr);
        item: $item_view:ident, $panic:literal;
        iter: $iter:ident;
        owned: $owned:ident;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub struct $view<'a> {
            pub(super) dir: $crate::codec::lookup::directory::Directory<'a>,
            generation: u64,
        }

        impl<'a> $view<'a> {
            $(#[$decode_doc])*
            pub fn decode(payload: &'a [u8]) -> Result<Self, $crate::error::DecodeError> {
                let (dir, generation) =
                    $crate::codec::lookup::directory::Directory::parse_response(payload, $resp_what)?;
                dir.validate_items($item_hdr, $item_what, |item| {
                    $item_view::check(item)
                })?;
                Ok($view { dir, generation })
            }

            /// The advisory provider generation (any value, including 0).
            #[inline]
            pub fn generation(&self) -> u64 {
                self.generation
            }

            #[doc = concat!("Copies the response into an owned [`", stringify!($owned), "`].")]
            pub fn to_owned(&self) -> $owned {
                $owned {
                    generation: self.generation,
                    items: self.items().map(|i| i.to_owned()).collect(),
                }
            }

            #[inline]
            fn item_at(&self, i: usize) -> $item_view<'a> {
                $item_view::parse_trusted(self.dir.slice(i))
            }
        }

        $crate::codec::lookup::directory_view! {
            $view => $iter, $item_view<'a>, item_at;
            /// Number of items.
            len;
            /// Whether the response has no items.
            is_empty;
            /// Item `i`.
            ///
            /// # Panics
            ///
            /// If `i >= self.len()`.
            item, $panic;
            /// Item `i`, or `None` if `i` is out of range.
            get;
            /// Iterates over the items in order.
            items;
            #[doc = concat!(
                "Iterator over the items of the response view [`", stringify!($view),
                "`] (borrowed from the payload, see the view's lifetime contract)."
            )]
            iterator;
        }
    };
}
pub(crate) use response_view;

/// Implements, in an item view's `impl` block, the accessors of its label
/// table and raw bytes over the fields `item` (the item bytes), `table`
/// (the label table offset) and `label_count`.
macro_rules! item_labels {
    () => {
        /// Number of labels.
        #[inline]
        pub fn label_count(&self) -> usize {
            self.label_count
        }

        /// Label `i`, or `None` if out of range.
        #[inline]
        pub fn label(&self, i: usize) -> Option<$crate::codec::lookup::LabelView<'a>> {
            (i < self.label_count)
                .then(|| $crate::codec::lookup::LabelsIter::at(self.item, self.table, i))
        }

        /// Iterates over the labels in table order.
        #[inline]
        pub fn labels(&self) -> $crate::codec::lookup::LabelsIter<'a> {
            $crate::codec::lookup::LabelsIter::new(self.item, self.table, self.label_count)
        }

        /// The raw item bytes.
        #[inline]
        pub fn as_bytes(&self) -> &'a [u8] {
            self.item
        }
    };
}
pub(crate) use item_labels;

/// Implements `Default` and the methods every response builder `$builder`
/// (with a `core: ResponseCore` field and its own `from_vec`) delegates to
/// its core: construction, budgets, generation, progress and `finish`.
macro_rules! response_builder {
    ($builder:ident) => {
        impl Default for $builder {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $builder {
            /// A builder with an unlimited budget, ready for an empty response.
            pub fn new() -> Self {
                Self::from_vec(Vec::new())
            }

            /// A builder with the given budgets (see [`set_budget`](Self::set_budget)).
            pub fn with_budget(budget: usize, max_budget: usize) -> Self {
                let mut b = Self::new();
                b.set_budget(budget, max_budget);
                b
            }

            /// Returns the payload buffer.
            pub fn into_vec(self) -> Vec<u8> {
                self.core.into_vec()
            }

            /// Sets the current response budget and the configured maximum budget
            /// in bytes (clamped to `u32::MAX`; `max_budget` is raised to `budget`
            /// if lower). Takes effect at the next reset.
            pub fn set_budget(&mut self, budget: usize, max_budget: usize) {
                self.core.set_budget(budget, max_budget);
            }

            /// The current response budget.
            pub fn budget(&self) -> usize {
                self.core.budget()
            }

            /// The maximum budget used for the `OVERSIZED_ITEM` decision.
            pub fn max_budget(&self) -> usize {
                self.core.max_budget()
            }

            /// Sets the response generation without restarting the response
            /// (items already added and the budget state are kept). A managed
            /// server hands handlers a builder reset with generation 0.
            pub fn set_generation(&mut self, generation: u64) {
                self.core.set_generation(generation);
            }

            /// Number of items the response must hold.
            pub fn item_count(&self) -> usize {
                self.core.count()
            }

            /// Number of items added so far.
            pub fn added(&self) -> usize {
                self.core.next_index()
            }

            /// Whether the budget was reached: every further item is encoded as
            /// `PAYLOAD_EXCEEDED`.
            pub fn is_exceeded(&self) -> bool {
                self.core.is_exceeded()
            }

            /// Whether even the all-`PAYLOAD_EXCEEDED` response exceeds the budget
            /// (then [`finish`](Self::finish) fails with `LimitExceeded`).
            pub fn is_over_budget(&self) -> bool {
                self.core.is_over_budget()
            }

            /// Current payload length in bytes.
            pub fn encoded_len(&self) -> usize {
                self.core.len()
            }

            /// The finished payload.
            ///
            /// Fails with `InvalidState` if fewer items than the response must
            /// hold were added, and with `LimitExceeded` if even the
            /// all-minimal response exceeds the budget.
            pub fn finish(&self) -> Result<&[u8], $crate::error::Error> {
                self.core.finish()
            }
        }
    };
}
pub(crate) use response_builder;
