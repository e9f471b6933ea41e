//! CSV reader (being written).
