package postgres

// RawOutboxRows is rawOutboxRows, for the external tests.
var RawOutboxRows = rawOutboxRows
