// Must be imported before the generated code: 64-bit fields decode as plain numbers (our values —
// ids, byte counts, epoch milliseconds — stay far below 2^53), never as Long objects.
import $protobuf from 'protobufjs/minimal.js';

($protobuf.util as { Long: unknown }).Long = undefined;
$protobuf.configure();
