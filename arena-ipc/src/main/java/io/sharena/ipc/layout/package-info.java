/**
 * Layouts of the IPC structures kept in arena pages: offsets and state values only, one class per
 * structure, with diagrams. No FFM calls.
 */
package io.sharena.ipc.layout;
