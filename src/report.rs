//! The JSON report (interface being written — issue 2, scope 7).
