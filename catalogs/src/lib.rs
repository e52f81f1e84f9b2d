//! rollcall-catalogs
