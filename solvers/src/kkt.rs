//! Optimality measures (being written).
