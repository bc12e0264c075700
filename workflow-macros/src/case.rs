//! Rust names derived from other Rust names: a method's type (`charge_card` → `ChargeCard`), a
//! type's module (`OrderService` → `order_service`).

/// `charge_card` → `ChargeCard`.
pub(crate) fn camel(snake: &str) -> String {
    snake
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// `OrderService` → `order_service`; a run of capitals is one word (`HTTPGateway` →
/// `http_gateway`).
pub(crate) fn snake(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if previous != '_' && (previous.is_lowercase() || previous.is_ascii_digit() || next_is_lower) {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_become_type_names() {
        assert_eq!(camel("charge_card"), "ChargeCard");
        assert_eq!(camel("reserve"), "Reserve");
        assert_eq!(camel("brief__count_"), "BriefCount");
    }

    #[test]
    fn types_become_module_names() {
        assert_eq!(snake("Inventory"), "inventory");
        assert_eq!(snake("OrderService"), "order_service");
        assert_eq!(snake("HTTPGateway"), "http_gateway");
        assert_eq!(snake("Shop2Go"), "shop2_go");
        assert_eq!(snake("Already_Snake"), "already_snake");
    }
}
