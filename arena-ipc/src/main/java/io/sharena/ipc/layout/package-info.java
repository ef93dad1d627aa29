/**
 * Layouts of the IPC structures kept in arena pages: offsets, sizes and state values only, one
 * class per structure, with diagrams. Nothing here reads or writes memory, and no FFM calls.
 */
package io.sharena.ipc.layout;
