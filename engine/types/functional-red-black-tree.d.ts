// Minimal typings for functional-red-black-tree (the package ships none).
declare module 'functional-red-black-tree' {
  namespace createRBTree {
    interface Node<K, V> {
      readonly key: K;
      readonly value: V;
      readonly left: Node<K, V> | null;
      readonly right: Node<K, V> | null;
    }
    interface Iterator<K, V> {
      readonly key: K | undefined;
      readonly value: V | undefined;
      readonly valid: boolean;
      readonly hasNext: boolean;
      readonly hasPrev: boolean;
      clone(): Iterator<K, V>;
      next(): void;
      prev(): void;
    }
    interface Tree<K, V> {
      readonly length: number;
      readonly root: Node<K, V> | null;
      readonly begin: Iterator<K, V>;
      readonly end: Iterator<K, V>;
      insert(key: K, value: V): Tree<K, V>;
      remove(key: K): Tree<K, V>;
      get(key: K): V | undefined;
      find(key: K): Iterator<K, V>;
      ge(key: K): Iterator<K, V>;
      gt(key: K): Iterator<K, V>;
      le(key: K): Iterator<K, V>;
      lt(key: K): Iterator<K, V>;
    }
  }
  function createRBTree<K, V>(compare?: (a: K, b: K) => number): createRBTree.Tree<K, V>;
  export = createRBTree;
}
