//! LIBSVM sparse text format reader (being written).
