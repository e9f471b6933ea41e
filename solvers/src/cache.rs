//! LRU column cache (being written).
