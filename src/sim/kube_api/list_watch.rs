//! List bodies written item by item, and watch streams.
