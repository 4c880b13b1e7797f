"use strict";(self.rspackChunktesla_lab=self.rspackChunktesla_lab||[]).push([[232],{475(e,a,r){var o=r(601),t=r.n(o),n=r(314),s=(r.n(n))()(t());s.push([e.id,`/* TESLA Lab sidebar, status bar item and forms; colours come from the JupyterLab theme variables. */

.jp-TeslaLab-sidebar {
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  font-size: var(--jp-ui-font-size1);
  overflow-y: auto;
  min-width: 260px;
}

.jp-TeslaLab-header {
  display: flex;
  align-items: center;
  justify-content: space-between;
  padding: 6px 8px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
}

.jp-TeslaLab-title {
  font-weight: 600;
  text-transform: uppercase;
  font-size: var(--jp-ui-font-size0);
  letter-spacing: 0.5px;
}

.jp-TeslaLab-body {
  padding: 4px 8px 12px;
}

.jp-TeslaLab-toolbar {
  display: flex;
  gap: 6px;
  margin: 6px 0;
  flex-wrap: wrap;
}

.jp-TeslaLab-toolbar .jp-TeslaLab-button {
  margin-left: 0;
}

.jp-TeslaLab-button {
  border: var(--jp-border-width) solid var(--jp-border-color1);
  border-radius: 2px;
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color1);
  font-size: var(--jp-ui-font-size1);
  padding: 1px 8px;
  cursor: pointer;
  margin-left: 4px;
}

.jp-TeslaLab-button:hover {
  background: var(--jp-layout-color3);
}

.jp-TeslaLab-button.jp-mod-accept {
  background: var(--jp-brand-color1);
  border-color: var(--jp-brand-color1);
  color: white;
  margin-left: 0;
}

.jp-TeslaLab-button.jp-mod-warn {
  background: var(--jp-warn-color1);
  border-color: var(--jp-warn-color1);
  color: white;
}

.jp-TeslaLab-sectionTitle {
  font-size: var(--jp-ui-font-size1);
  font-weight: 600;
  margin: 10px 0 4px;
  color: var(--jp-ui-font-color2);
}

.jp-TeslaLab-count {
  font-weight: normal;
  color: var(--jp-ui-font-color3);
}

.jp-TeslaLab-list {
  list-style: none;
  margin: 0;
  padding: 0;
}

.jp-TeslaLab-run,
.jp-TeslaLab-item {
  padding: 4px 2px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color3);
}

.jp-TeslaLab-item,
.jp-TeslaLab-row {
  display: flex;
  align-items: center;
  gap: 6px;
}

.jp-TeslaLab-name {
  flex: 1 1 auto;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}

.jp-TeslaLab-actions {
  display: flex;
  flex: none;
}

.jp-TeslaLab-meta,
.jp-TeslaLab-detail,
.jp-TeslaLab-empty {
  color: var(--jp-ui-font-color2);
  font-size: var(--jp-ui-font-size0);
}

.jp-TeslaLab-detail {
  display: flex;
  justify-content: space-between;
  padding-left: 14px;
}

.jp-TeslaLab-badge {
  font-size: var(--jp-ui-font-size0);
  border-radius: 8px;
  padding: 0 6px;
  background: var(--jp-layout-color3);
}

.jp-TeslaLab-dot {
  width: 8px;
  height: 8px;
  border-radius: 50%;
  flex: 0 0 8px;
  background: var(--jp-ui-font-color3);
}

.jp-TeslaLab-status-running .jp-TeslaLab-dot {
  background: var(--jp-brand-color1);
}

.jp-TeslaLab-status-queued .jp-TeslaLab-dot {
  background: var(--jp-warn-color2);
}

.jp-TeslaLab-status-finished .jp-TeslaLab-dot {
  background: var(--jp-success-color1);
}

.jp-TeslaLab-status-failed .jp-TeslaLab-dot {
  background: var(--jp-error-color1);
}

.jp-TeslaLab-progress {
  position: relative;
  height: 14px;
  margin: 3px 0 0 14px;
  background: var(--jp-layout-color3);
  border-radius: 2px;
  overflow: hidden;
}

.jp-TeslaLab-progressBar {
  height: 100%;
  background: var(--jp-brand-color3);
  transition: width 0.5s;
}

.jp-TeslaLab-progressText {
  position: absolute;
  inset: 0;
  font-size: var(--jp-ui-font-size0);
  line-height: 14px;
  text-align: center;
}

.jp-TeslaLab-error {
  color: var(--jp-error-color1);
  margin: 6px 0;
  white-space: pre-wrap;
}

.jp-TeslaLab-noProject {
  margin-top: 12px;
}

.jp-TeslaLab-statusText {
  cursor: pointer;
  padding: 0 4px;
}

.jp-TeslaLab-form {
  display: flex;
  flex-direction: column;
  gap: 6px;
  min-width: 320px;
}

.jp-TeslaLab-formRow {
  display: grid;
  grid-template-columns: 120px 1fr;
  align-items: center;
  gap: 8px;
}
`,""]),r.d(a,{},{A:s})},314(e){e.exports=function(e){var a=[];return a.toString=function(){return this.map(function(a){var r="",o=void 0!==a[5];return a[4]&&(r+="@supports (".concat(a[4],") {")),a[2]&&(r+="@media ".concat(a[2]," {")),o&&(r+="@layer".concat(a[5].length>0?" ".concat(a[5]):""," {")),r+=e(a),o&&(r+="}"),a[2]&&(r+="}"),a[4]&&(r+="}"),r}).join("")},a.i=function(e,r,o,t,n){"string"==typeof e&&(e=[[null,e,void 0]]);var s={};if(o)for(var p=0;p<this.length;p++){var i=this[p][0];null!=i&&(s[i]=!0)}for(var l=0;l<e.length;l++){var c=[].concat(e[l]);o&&s[c[0]]||(void 0!==n&&(void 0===c[5]||(c[1]="@layer".concat(c[5].length>0?" ".concat(c[5]):""," {").concat(c[1],"}")),c[5]=n),r&&(c[2]&&(c[1]="@media ".concat(c[2]," {").concat(c[1],"}")),c[2]=r),t&&(c[4]?(c[1]="@supports (".concat(c[4],") {").concat(c[1],"}"),c[4]=t):c[4]="".concat(t)),a.push(c))}},a}},601(e){e.exports=function(e){return e[1]}},72(e){var a=[];function r(e){for(var r=-1,o=0;o<a.length;o++)if(a[o].identifier===e){r=o;break}return r}function o(e,o){for(var t={},n=[],s=0;s<e.length;s++){var p=e[s],i=o.base?p[0]+o.base:p[0],l=t[i]||0,c="".concat(i," ").concat(l);t[i]=l+1;var d=r(c),u={css:p[1],media:p[2],sourceMap:p[3],supports:p[4],layer:p[5]};if(-1!==d)a[d].references++,a[d].updater(u);else{var b=function(e,a){var r=a.domAPI(a);return r.update(e),function(a){a?(a.css!==e.css||a.media!==e.media||a.sourceMap!==e.sourceMap||a.supports!==e.supports||a.layer!==e.layer)&&r.update(e=a):r.remove()}}(u,o);o.byIndex=s,a.splice(s,0,{identifier:c,updater:b,references:1})}n.push(c)}return n}e.exports=function(e,t){var n=o(e=e||[],t=t||{});return function(e){e=e||[];for(var s=0;s<n.length;s++){var p=r(n[s]);a[p].references--}for(var i=o(e,t),l=0;l<n.length;l++){var c=r(n[l]);0===a[c].references&&(a[c].updater(),a.splice(c,1))}n=i}}},40(e){var a={};e.exports=function(e,r){var o=function(e){if(void 0===a[e]){var r=document.querySelector(e);if(window.HTMLIFrameElement&&r instanceof window.HTMLIFrameElement)try{r=r.contentDocument.head}catch(e){r=null}a[e]=r}return a[e]}(e);if(!o)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");o.appendChild(r)}},540(e){e.exports=function(e){var a=document.createElement("style");return e.setAttributes(a,e.attributes),e.insert(a,e.options),a}},56(e,a,r){e.exports=function(e){var a=r.nc;a&&e.setAttribute("nonce",a)}},825(e){e.exports=function(e){if("u"<typeof document)return{update:function(){},remove:function(){}};var a=e.insertStyleElement(e);return{update:function(r){var o,t,n;o="",r.supports&&(o+="@supports (".concat(r.supports,") {")),r.media&&(o+="@media ".concat(r.media," {")),(t=void 0!==r.layer)&&(o+="@layer".concat(r.layer.length>0?" ".concat(r.layer):""," {")),o+=r.css,t&&(o+="}"),r.media&&(o+="}"),r.supports&&(o+="}"),(n=r.sourceMap)&&"u">typeof btoa&&(o+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(n))))," */")),e.styleTagTransform(o,a,e.options)},remove:function(){var e;null===(e=a).parentNode||e.parentNode.removeChild(e)}}}},113(e){e.exports=function(e,a){if(a.styleSheet)a.styleSheet.cssText=e;else{for(;a.firstChild;)a.removeChild(a.firstChild);a.appendChild(document.createTextNode(e))}}},579(e,a,r){var o=r(72),t=r.n(o),n=r(825),s=r.n(n),p=r(40),i=r.n(p),l=r(56),c=r.n(l),d=r(540),u=r.n(d),b=r(113),f=r.n(b),j=r(475),v={};v.styleTagTransform=f(),v.setAttributes=c(),v.insert=i().bind(null,"head"),v.domAPI=s(),v.insertStyleElement=u(),t()(j.A,v),j.A&&j.A.locals&&j.A.locals}}]);