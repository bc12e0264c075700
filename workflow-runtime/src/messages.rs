//! Pieces of the messages the runtime writes: what a caught panic says, and what is
//! registered when a name is not.

/// The message of a caught panic (`panic!("…")` carries a `&str` or a `String`).
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// `a, b, c` (as given), or `none`: what is registered, in a "not registered" message.
pub(crate) fn listed<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_list_of_nothing_reads_none() {
        assert_eq!(super::listed([]), "none");
        assert_eq!(super::listed(["Order", "Refund"]), "Order, Refund");
    }

    #[test]
    fn panics_say_their_message() {
        let caught = std::panic::catch_unwind(|| panic!("card {} declined", 4)).unwrap_err();
        assert_eq!(super::panic_message(&*caught), "card 4 declined");
        let caught = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(super::panic_message(&*caught), "a panic without a message");
    }
}
