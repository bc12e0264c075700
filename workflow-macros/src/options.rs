//! Attribute options, parsed with darling: unknown and duplicate keys are spanned errors.

use darling::FromMeta;
use proc_macro2::TokenStream;
use quote::quote;

/// A duration written as a string: `"250ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`, or a sum of
/// them (`"1m30s"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DurationLit {
    pub(crate) millis: u64,
}

impl DurationLit {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an empty duration".into());
        }
        let mut millis: u64 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            if digits == 0 {
                return Err(format!(
                    "`{text}` is not a duration; write it like \"30s\", \"5m\" or \"1m30s\""
                ));
            }
            let number: u64 = rest[..digits].parse().map_err(|_| format!("`{text}` is too large"))?;
            rest = &rest[digits..];
            let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
            let factor = match &rest[..unit_len] {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "" => return Err(format!("`{text}` needs a unit: ms, s, m, h or d")),
                other => return Err(format!("unknown unit `{other}` in `{text}`; use ms, s, m, h or d")),
            };
            millis = number
                .checked_mul(factor)
                .and_then(|m| millis.checked_add(m))
                .ok_or_else(|| format!("`{text}` is too large"))?;
            rest = &rest[unit_len..];
        }
        Ok(DurationLit { millis })
    }

    pub(crate) fn tokens(&self) -> TokenStream {
        let millis = self.millis;
        quote!(::core::time::Duration::from_millis(#millis))
    }
}

impl FromMeta for DurationLit {
    fn from_string(value: &str) -> darling::Result<Self> {
        DurationLit::parse(value).map_err(darling::Error::custom)
    }
}

/// `retry(...)` inside `#[activity]`.
#[derive(Debug, Default, Clone, FromMeta)]
pub(crate) struct RetryArgs {
    pub(crate) initial_interval: Option<DurationLit>,
    pub(crate) backoff_coefficient: Option<f64>,
    pub(crate) maximum_interval: Option<DurationLit>,
    pub(crate) maximum_attempts: Option<u32>,
    #[darling(default)]
    pub(crate) non_retryable_error_types: StringList,
}

/// `["A", "B"]`.
#[derive(Debug, Default, Clone)]
pub(crate) struct StringList(pub(crate) Vec<String>);

impl FromMeta for StringList {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        let syn::Expr::Array(array) = expr else {
            return Err(darling::Error::custom("expected a list of strings: [\"TypeA\", \"TypeB\"]").with_span(expr));
        };
        array
            .elems
            .iter()
            .map(|e| match e {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s), ..
                }) => Ok(s.value()),
                other => Err(darling::Error::custom("expected a string").with_span(other)),
            })
            .collect::<darling::Result<Vec<_>>>()
            .map(StringList)
    }
}

/// `#[activity(...)]`, and the defaults of an `#[activities(...)]` group.
#[derive(Debug, Default, Clone, FromMeta)]
pub(crate) struct ActivityArgs {
    pub(crate) name: Option<String>,
    pub(crate) start_to_close_timeout: Option<DurationLit>,
    pub(crate) schedule_to_close_timeout: Option<DurationLit>,
    pub(crate) schedule_to_start_timeout: Option<DurationLit>,
    pub(crate) heartbeat_timeout: Option<DurationLit>,
    pub(crate) task_queue: Option<String>,
    pub(crate) retry: Option<RetryArgs>,
    #[darling(rename = "crate")]
    pub(crate) krate: Option<syn::Path>,
}

impl ActivityArgs {
    /// These options, each one not given here taken from `defaults` (a group's options under
    /// a method's own). A retry policy is taken whole, not field by field.
    pub(crate) fn or_defaults(self, defaults: &ActivityArgs) -> ActivityArgs {
        ActivityArgs {
            name: self.name.or_else(|| defaults.name.clone()),
            start_to_close_timeout: self.start_to_close_timeout.or(defaults.start_to_close_timeout),
            schedule_to_close_timeout: self.schedule_to_close_timeout.or(defaults.schedule_to_close_timeout),
            schedule_to_start_timeout: self.schedule_to_start_timeout.or(defaults.schedule_to_start_timeout),
            heartbeat_timeout: self.heartbeat_timeout.or(defaults.heartbeat_timeout),
            task_queue: self.task_queue.or_else(|| defaults.task_queue.clone()),
            retry: self.retry.or_else(|| defaults.retry.clone()),
            krate: self.krate.or_else(|| defaults.krate.clone()),
        }
    }
}

/// `versioning = "pinned" | "auto_upgrade"` on a workflow's impl block: how its runs move
/// between worker deployment versions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VersioningLit {
    pub(crate) pinned: bool,
    /// The value's span, for errors about where the option stands.
    pub(crate) span: proc_macro2::Span,
}

impl VersioningLit {
    /// `Some(VersioningBehavior::…)`, for the `Workflow` impl's constant.
    pub(crate) fn tokens(&self, private: &TokenStream) -> TokenStream {
        let variant = match self.pinned {
            true => quote!(Pinned),
            false => quote!(AutoUpgrade),
        };
        quote!(::core::option::Option::Some(#private::VersioningBehavior::#variant))
    }
}

impl FromMeta for VersioningLit {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        let text = match expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s), ..
            }) => s.value(),
            _ => return Err(darling::Error::custom("expected \"pinned\" or \"auto_upgrade\"").with_span(expr)),
        };
        let pinned = match text.as_str() {
            "pinned" => true,
            "auto_upgrade" => false,
            other => {
                return Err(darling::Error::custom(format!(
                    "unknown versioning behaviour `{other}`; use \"pinned\" (a run stays on the version it \
                     started on) or \"auto_upgrade\" (a run moves to the current version)"
                ))
                .with_span(expr));
            }
        };
        Ok(VersioningLit {
            pinned,
            span: syn::spanned::Spanned::span(expr),
        })
    }
}

/// `#[workflow(...)]`.
#[derive(Debug, Default, FromMeta)]
pub(crate) struct WorkflowArgs {
    pub(crate) name: Option<String>,
    pub(crate) versioning: Option<VersioningLit>,
    #[darling(rename = "crate")]
    pub(crate) krate: Option<syn::Path>,
}

/// `#[signal(...)]`, `#[query(...)]`, `#[update(...)]`.
#[derive(Debug, Default, FromMeta)]
pub(crate) struct HandlerArgs {
    pub(crate) name: Option<String>,
    /// Only for `#[update]`: a method `fn(&self, args…) -> Result<(), E: Display>`.
    pub(crate) validator: Option<syn::Ident>,
}

/// `#[nexus_service(...)]`.
#[derive(Debug, Default, FromMeta)]
pub(crate) struct NexusServiceArgs {
    /// The service's wire name (default: the trait's name).
    pub(crate) name: Option<String>,
    /// The generated module's name (default: the trait's name in snake case).
    pub(crate) module: Option<syn::Ident>,
    #[darling(rename = "crate")]
    pub(crate) krate: Option<syn::Path>,
}

/// `#[operation(...)]`.
#[derive(Debug, Default, FromMeta)]
pub(crate) struct OperationArgs {
    /// The operation's wire name (default: the method's name).
    pub(crate) name: Option<String>,
}

/// The path generated code names everything through: `::workflow_runtime::__private`, or
/// `<path>::__private` when the runtime is renamed with `crate = "path"`.
pub(crate) fn private_path(krate: &Option<syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::workflow_runtime::__private),
    }
}

/// Parses attribute arguments into `T`, collecting errors.
pub(crate) fn parse_args<T: FromMeta + Default>(args: TokenStream, errors: &mut crate::errors::Errors) -> T {
    if args.is_empty() {
        return T::default();
    }
    match darling::ast::NestedMeta::parse_meta_list(args) {
        Ok(list) => T::from_list(&list).unwrap_or_else(|e| {
            errors.push_darling(e);
            T::default()
        }),
        Err(e) => {
            errors.push(e);
            T::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_sums() {
        assert_eq!(DurationLit::parse("250ms").unwrap().millis, 250);
        assert_eq!(DurationLit::parse("30s").unwrap().millis, 30_000);
        assert_eq!(DurationLit::parse("1m30s").unwrap().millis, 90_000);
        assert_eq!(DurationLit::parse("2h").unwrap().millis, 7_200_000);
        assert_eq!(DurationLit::parse("1d").unwrap().millis, 86_400_000);
        assert!(DurationLit::parse("30").unwrap_err().contains("needs a unit"));
        assert!(DurationLit::parse("5w").unwrap_err().contains("unknown unit `w`"));
        assert!(DurationLit::parse("soon").unwrap_err().contains("not a duration"));
    }
}
