globalThis.gc(); const a=process.memoryUsage().heapUsed;
await import(process.argv[2]);
globalThis.gc(); console.log(process.argv[2], ((process.memoryUsage().heapUsed-a)/1048576).toFixed(2), 'MB');
