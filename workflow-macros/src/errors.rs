//! Collects every error found in one item, so all of them are reported at once.

use proc_macro2::TokenStream;

/// The errors of one macro invocation.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// Takes over another collector's errors.
    pub(crate) fn extend(&mut self, other: Errors) {
        self.errors.extend(other.errors);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many errors so far (to tell whether one item added any).
    pub(crate) fn len(&self) -> usize {
        self.errors.len()
    }

    /// `compile_error!`s for every error (empty when there are none).
    pub(crate) fn to_compile_errors(&self) -> TokenStream {
        self.errors.iter().map(syn::Error::to_compile_error).collect()
    }

    /// Folds darling's errors (unknown or duplicate keys, bad values) in.
    pub(crate) fn push_darling(&mut self, error: darling::Error) {
        self.push(syn::Error::from(error));
    }

    #[cfg(test)]
    pub(crate) fn messages(&self) -> Vec<String> {
        self.errors.iter().map(|e| e.to_string()).collect()
    }
}
