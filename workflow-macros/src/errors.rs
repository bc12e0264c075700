//! Collects every error found in one item, so all of them are reported at once.

use proc_macro2::TokenStream;
use quote::quote;

/// `item` read as what a macro goes on; otherwise, to return as the expansion, `item` as written
/// beside an error on it that says where the macro goes (so uses of the item add no error).
pub(crate) fn parse_item<T: syn::parse::Parse>(item: &TokenStream, where_it_goes: &str) -> Result<T, TokenStream> {
    syn::parse2(item.clone()).map_err(|_| {
        let error = syn::Error::new_spanned(item, where_it_goes).to_compile_error();
        quote!(#error #item)
    })
}

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

    /// Adds every error of `errors`.
    pub(crate) fn extend_with(&mut self, errors: impl IntoIterator<Item = syn::Error>) {
        self.errors.extend(errors);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Runs `check` on one item with a collector of its own: the item when nothing is wrong
    /// with it, else `None` and its errors taken over. This is how an item with a mistake is
    /// left out of what is generated (its errors say why), so one mistake never cascades into
    /// errors elsewhere.
    pub(crate) fn isolate<T>(&mut self, check: impl FnOnce(&mut Errors) -> T) -> Option<T> {
        let mut own = Errors::default();
        let item = check(&mut own);
        if own.is_empty() {
            Some(item)
        } else {
            self.extend(own);
            None
        }
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
