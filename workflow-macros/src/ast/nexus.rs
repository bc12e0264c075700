//! The model of a `#[nexus_service]` trait: a Nexus service's contract, one `#[operation]`
//! method per operation, each read from its signature with the checks that concern it, then the
//! checks across operations (one method per wire name, no generated name taken twice).

use crate::errors::Errors;
use crate::options::{NexusServiceArgs, OperationArgs, parse_args};
use crate::signature::{owned_guess, receiver, type_named, written};
use crate::{case, symbol};
use quote::{ToTokens, format_ident, quote};
use syn::spanned::Spanned;

/// What a service trait declares.
pub(crate) struct Service {
    /// The service's wire name: `name = "…"`, else the trait's name.
    pub(crate) wire_name: String,
    /// The module of the generated items: `module = "…"`, else the trait's name in snake case.
    pub(crate) module: syn::Ident,
    /// Whether nothing can be generated beside the trait: it is generic (nothing can name it
    /// without its parameters), or the module would take its name.
    pub(crate) trait_only: bool,
    pub(crate) operations: Vec<Operation>,
}

/// One `#[operation]` method.
pub(crate) struct Operation {
    pub(crate) method: syn::Ident,
    pub(crate) wire_name: String,
    /// Its type in the module: the method's name in CamelCase.
    pub(crate) marker: syn::Ident,
    /// The method's doc comment, which documents the operation's type and caller stub too.
    pub(crate) docs: Vec<syn::Attribute>,
    /// The input, read even beside errors (the closest sound reading), as the output is, so
    /// calls elsewhere see no second error.
    pub(crate) input: syn::Type,
    pub(crate) kind: OperationKind,
    /// Whether the method is generic: then its types cannot be named outside it, and only its
    /// type is generated.
    pub(crate) generic: bool,
    /// Whether the method takes the context by reference (`&NexusContext`).
    pub(crate) ctx_by_ref: bool,
    /// Whether the signature has no error: only then is the operation registered.
    pub(crate) sound: bool,
}

/// How an operation answers.
pub(crate) enum OperationKind {
    /// An `async fn` answering `output` within the request.
    Sync { output: syn::Type },
    /// A `fn` returning `WorkflowStart<W>`: the worker starts `W`, whose result is the answer.
    Workflow { workflow: syn::Type },
}

/// Reads the trait into the model, reporting what is wrong with it and with each method, and
/// removes the `#[operation]` attributes (rustc does not know them once expanded).
pub(crate) fn read(tr: &mut syn::ItemTrait, options: &NexusServiceArgs, errors: &mut Errors) -> Service {
    let generic = !tr.generics.params.is_empty() || tr.generics.where_clause.is_some();
    if generic {
        errors.push(syn::Error::new_spanned(
            &tr.generics,
            "a Nexus service cannot be generic: it is served and called by one wire name, with concrete types",
        ));
    }
    let module = options
        .module
        .clone()
        .unwrap_or_else(|| format_ident!("{}", case::snake(&tr.ident.to_string())));
    let module_takes_trait_name = module == tr.ident;
    if module_takes_trait_name {
        errors.push(syn::Error::new_spanned(
            &tr.ident,
            format!("the generated module would be named `{module}` like the trait: name it with `module = \"…\"`"),
        ));
    }
    let mut operations = Vec::new();
    for item in &mut tr.items {
        match item {
            syn::TraitItem::Fn(f) => {
                if let Some(op) = read_operation(f, errors) {
                    operations.push(op);
                }
            }
            other => errors.push(syn::Error::new_spanned(
                other,
                "a service trait declares its `#[operation]` methods only: remove this item",
            )),
        }
    }
    if operations.is_empty() && tr.items.is_empty() {
        errors.push(syn::Error::new_spanned(
            &tr.ident,
            "a service declares its operations: add `#[operation] async fn name(&self, ctx: NexusContext, \
             input: Input) -> Result<Output, NexusError>;`",
        ));
    }
    unique_names(&mut operations, errors);
    Service {
        wire_name: options.name.clone().unwrap_or_else(|| tr.ident.to_string()),
        module,
        trait_only: generic || module_takes_trait_name,
        operations,
    }
}

/// Reads one method: `None` when it is not marked `#[operation]` (reported).
fn read_operation(f: &mut syn::TraitItemFn, errors: &mut Errors) -> Option<Operation> {
    let marks: Vec<syn::Attribute> = f
        .attrs
        .iter()
        .filter(|a| symbol::is_attr(a, symbol::OPERATION))
        .cloned()
        .collect();
    f.attrs.retain(|a| !symbol::is_attr(a, symbol::OPERATION));
    let sig = &f.sig;
    let Some(mark) = marks.first() else {
        errors.push(syn::Error::new_spanned(
            &sig.ident,
            format!(
                "mark `{}` `#[operation]`: a service trait declares only its operations (helpers belong in \
                 the implementation)",
                sig.ident
            ),
        ));
        return None;
    };
    let mut own = Errors::default();
    if let Some(second) = marks.get(1) {
        own.push(syn::Error::new_spanned(
            second,
            "a method is one operation: remove this `#[operation]`",
        ));
    }
    let options = operation_options(mark, &mut own);
    // The body is reported and dropped: the method stays in the trait, without a default.
    if let Some(body) = f.default.take() {
        own.push(syn::Error::new_spanned(
            &body,
            "a service trait declares the operation's signature; its implementation serves it: replace the \
             body with `;`",
        ));
        f.semi_token = Some(Default::default());
    }
    let generic = !sig.generics.params.is_empty() || sig.generics.where_clause.is_some();
    if generic {
        own.push(syn::Error::new_spanned(
            &sig.generics,
            "an operation cannot be generic: its input and output are decoded to one concrete type",
        ));
    }
    shared_receiver(sig, &mut own);
    let (ctx_by_ref, input) = arguments(sig, &mut own);
    // A `WorkflowStart` without its workflow is left to rustc, which says so on the trait.
    let kind = answer(sig, &mut own);
    let unnamed_workflow = kind.is_none();
    let kind = kind.unwrap_or_else(|| OperationKind::Sync {
        output: syn::parse_quote!(()),
    });
    let sound = own.is_empty() && !unnamed_workflow;
    errors.extend(own);
    let method = sig.ident.clone();
    let name = method.to_string();
    Some(Operation {
        wire_name: options
            .name
            .unwrap_or_else(|| name.strip_prefix("r#").unwrap_or(&name).to_string()),
        marker: format_ident!("{}", case::camel(name.strip_prefix("r#").unwrap_or(&name))),
        docs: f
            .attrs
            .iter()
            .filter(|a| a.path().is_ident(symbol::DOC))
            .cloned()
            .collect(),
        method,
        input: input.unwrap_or_else(|| syn::parse_quote!(())),
        kind,
        generic,
        ctx_by_ref,
        sound,
    })
}

/// The options in `#[operation(...)]`.
fn operation_options(attr: &syn::Attribute, errors: &mut Errors) -> OperationArgs {
    match &attr.meta {
        syn::Meta::Path(_) => OperationArgs::default(),
        syn::Meta::List(list) => parse_args(list.tokens.clone(), errors),
        syn::Meta::NameValue(nv) => {
            errors.push(syn::Error::new_spanned(
                nv,
                "write the options in parentheses: `#[operation(name = \"…\")]`",
            ));
            OperationArgs::default()
        }
    }
}

/// An operation takes `&self`: the implementation's state, shared by concurrent requests.
fn shared_receiver(sig: &syn::Signature, errors: &mut Errors) {
    match receiver(sig) {
        Some(r) if matches!(&*r.ty, syn::Type::Reference(t) if t.mutability.is_none()) => {}
        Some(r) => errors.push(syn::Error::new_spanned(
            r,
            "an operation takes `&self`: the implementation serves concurrent requests with shared state",
        )),
        None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!(
                "an operation takes `&self` first: `fn {}(&self, ctx: NexusContext, input: Input)`",
                sig.ident
            ),
        )),
    }
}

/// The context, then exactly one input: whether the context is borrowed, and the input's type
/// (owned: it is decoded from the caller's payload).
fn arguments(sig: &syn::Signature, errors: &mut Errors) -> (bool, Option<syn::Type>) {
    let typed: Vec<&syn::PatType> = sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            syn::FnArg::Typed(pt) => Some(pt),
            syn::FnArg::Receiver(_) => None,
        })
        .collect();
    let context = |ty: &syn::Type| match ty {
        syn::Type::Reference(r) if type_named(&r.elem, "NexusContext") => Some(r.mutability),
        ty if type_named(ty, "NexusContext") => Some(None),
        _ => None,
    };
    let wanted_context = if sig.asyncness.is_some() {
        "ctx: NexusContext"
    } else {
        "ctx: &NexusContext"
    };
    let (ctx_by_ref, inputs) = match typed.split_first() {
        Some((first, rest)) if context(&first.ty).is_some() => {
            if let syn::Type::Reference(r) = &*first.ty
                && let Some(mutable) = r.mutability
            {
                errors.push(syn::Error::new_spanned(
                    mutable,
                    "the context is read only: take it as `&NexusContext` or by value",
                ));
            }
            (matches!(&*first.ty, syn::Type::Reference(_)), rest)
        }
        _ => {
            let span = typed
                .first()
                .map(|pt| pt.span())
                .unwrap_or(sig.paren_token.span.close());
            errors.push(syn::Error::new(
                span,
                format!("an operation takes the request's context after `&self`: add `{wanted_context}`"),
            ));
            (false, &typed[..])
        }
    };
    match inputs {
        [] => {
            errors.push(syn::Error::new(
                sig.paren_token.span.close(),
                "an operation takes one input after the context: add `input: T` (`_: ()` for none)",
            ));
            (ctx_by_ref, None)
        }
        [input] => {
            if let syn::Type::Reference(r) = &*input.ty {
                errors.push(syn::Error::new_spanned(
                    r,
                    "the input is decoded from the caller's payload and must be owned: remove the `&`",
                ));
            }
            (ctx_by_ref, Some(owned_guess(&input.ty)))
        }
        [first, extra @ ..] => {
            let extra = extra.iter().map(|pt| pt.to_token_stream());
            errors.push(syn::Error::new_spanned(
                quote!(#(#extra),*),
                "an operation takes one input (the caller sends one payload): put these and the first in a \
                 struct, or a tuple `(a, b)`",
            ));
            (ctx_by_ref, Some(owned_guess(&first.ty)))
        }
    }
}

/// What the operation answers, from its return type: `Result<T, NexusError>` from an `async fn`
/// (a synchronous operation), `Result<WorkflowStart<W>, NexusError>` from a `fn` (backed by
/// workflow `W`). The output is read even beside errors; `None` for a `WorkflowStart` without
/// its workflow, which rustc reports.
fn answer(sig: &syn::Signature, errors: &mut Errors) -> Option<OperationKind> {
    let ty = match &sig.output {
        syn::ReturnType::Type(_, ty) => &**ty,
        syn::ReturnType::Default => {
            errors.push(syn::Error::new(
                sig.paren_token.span.close(),
                "an operation returns `Result<T, NexusError>`: add `-> Result<(), NexusError>`",
            ));
            return Some(OperationKind::Sync {
                output: syn::parse_quote!(()),
            });
        }
    };
    let Some((ok, error)) = result_types(ty) else {
        errors.push(syn::Error::new_spanned(
            ty,
            format!(
                "an operation returns `Result<{}, NexusError>`: its error fails the call or has the caller's \
                 server retry it",
                written(ty)
            ),
        ));
        return Some(OperationKind::Sync { output: ty.clone() });
    };
    match error {
        Some(e) if type_named(e, "NexusError") => {}
        Some(e) => errors.push(syn::Error::new_spanned(
            e,
            "an operation's error is a `NexusError` (`NexusError::failed`, `bad_request`, `internal`…): \
             return `Result<T, NexusError>`",
        )),
        None => errors.push(syn::Error::new_spanned(
            ty,
            "an operation returns `Result<T, NexusError>`: name the error type",
        )),
    }
    match (workflow_started(ok), &sig.asyncness) {
        (Some(Some(workflow)), asyncness) => {
            if let Some(asyncness) = asyncness {
                errors.push(syn::Error::new_spanned(
                    asyncness,
                    "a workflow-backed operation says how to start its workflow, and the worker starts it: \
                     remove `async`",
                ));
            }
            Some(OperationKind::Workflow {
                workflow: workflow.clone(),
            })
        }
        (Some(None), _) => None,
        (None, Some(_)) => Some(OperationKind::Sync { output: ok.clone() }),
        (None, None) => {
            errors.push(syn::Error::new_spanned(
                sig.fn_token,
                "an operation that answers within the request is an `async fn`: add `async`; to run a workflow \
                 instead, return `Result<WorkflowStart<YourWorkflow>, NexusError>` (its result is the answer)",
            ));
            Some(OperationKind::Sync { output: ok.clone() })
        }
    }
}

/// `Result<T, E>` (by its last segment): `T`, and `E` when written.
fn result_types(ty: &syn::Type) -> Option<(&syn::Type, Option<&syn::Type>)> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last().filter(|s| s.ident == "Result")?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    Some((types.next()?, types.next()))
}

/// `WorkflowStart<W>`: `Some(Some(W))`; `WorkflowStart` without its workflow: `Some(None)`.
fn workflow_started(ty: &syn::Type) -> Option<Option<&syn::Type>> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last().filter(|s| s.ident == "WorkflowStart")?;
    Some(match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    })
}

/// Names the generated items take in the module besides the operations' types.
const MODULE_ITEMS: &[&str] = &["Handler", "Caller"];

/// One method per wire name; one operation per generated name (its type, its caller stub). An
/// operation whose generated names are taken is reported and left out, so nothing cascades
/// from it.
fn unique_names(operations: &mut Vec<Operation>, errors: &mut Errors) {
    let mut wire_names = std::collections::BTreeMap::new();
    let mut markers = std::collections::BTreeMap::new();
    let mut in_the_way = Vec::new();
    for op in operations.iter() {
        if let Some(first) = wire_names.insert(op.wire_name.clone(), op.method.clone()) {
            errors.push(syn::Error::new_spanned(
                &op.method,
                format!(
                    "operation name `{}` is already used by `{first}`: give one of them another with \
                     `#[operation(name = \"…\")]`",
                    op.wire_name
                ),
            ));
        }
        let marker = op.marker.to_string();
        let taken = if MODULE_ITEMS.contains(&marker.as_str()) {
            Some(format!("the generated `{marker}`"))
        } else if op.method == "new" {
            Some("the caller stub's constructor `Caller::new`".to_string())
        } else {
            markers
                .insert(marker.clone(), op.method.clone())
                .map(|first| format!("the type `{marker}` of `{first}`"))
        };
        if let Some(taken) = taken {
            errors.push(syn::Error::new_spanned(
                &op.method,
                format!(
                    "an operation named `{}` would take the name of {taken}: rename the method (keep the \
                     wire name with `#[operation(name = \"{}\")]`)",
                    op.method, op.wire_name
                ),
            ));
            in_the_way.push(op.method.clone());
        }
    }
    operations.retain(|op| !in_the_way.contains(&op.method));
}
